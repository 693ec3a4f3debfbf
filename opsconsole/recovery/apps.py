from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


class RecoveryConfig(plugins.PluginConfig):
    name = "opsconsole.recovery"
    nav = plugins.Nav(order=30, label="Recovery", url_name="recovery:index", role="viewer")
    plugs = (
        PeriodicJob("poll-dlq-depths", "opsconsole.recovery.tasks.poll_dlq_depths", 30.0),
        PeriodicJob("tend-jobs", "opsconsole.recovery.tasks.tend_jobs", 10.0),
    )

    def ready(self) -> None:
        super().ready()
        from opsconsole.web.problems import register_errors

        from .errors import ERROR_SPECS

        register_errors(ERROR_SPECS)
