from opsconsole import plugins


class MonitoringConfig(plugins.FeatureConfig):
    name = "opsconsole.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from opsconsole.identity.roles import VIEWER

        plugins.install(
            plugins.nav(
                "monitoring", order=40, label="Alerts", url_name="monitoring:alerts", role=VIEWER
            ),
        )
