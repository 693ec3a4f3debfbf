from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


class RecoveryConfig(plugins.FeatureConfig):
    name = "opsconsole.recovery"
    label = "recovery"
    verbose_name = "Recovery"

    def ready(self) -> None:
        from opsconsole.identity.roles import VIEWER

        plugins.install(
            plugins.nav(
                "recovery", order=30, label="Recovery", url_name="recovery:index", role=VIEWER
            ),
            PeriodicJob("poll-dlq-depths", "opsconsole.recovery.tasks.poll_dlq_depths", 30.0),
        )
