from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "opsconsole.recovery"
    label = "recovery"
    verbose_name = "Recovery"

    def ready(self) -> None:
        from opsconsole import plugins
        from opsconsole.identity.roles import VIEWER
        from opsconsole.schedule import register_periodic

        plugins.register_nav(
            "recovery", order=30, label="Recovery", url_name="recovery:index", role=VIEWER
        )
        register_periodic("poll-dlq-depths", "opsconsole.recovery.tasks.poll_dlq_depths", 30.0)
