from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "opsconsole.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from opsconsole import plugins
        from opsconsole.identity.roles import VIEWER

        plugins.register_nav(
            "monitoring", order=40, label="Alerts", url_name="monitoring:alerts", role=VIEWER
        )
