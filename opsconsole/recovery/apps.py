from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


class RecoveryConfig(plugins.PluginConfig):
    name = "opsconsole.recovery"
    nav = plugins.Nav(order=30, label="Recovery", url_name="recovery:index", role="viewer")
    plugs = (
        PeriodicJob("poll-dlq-depths", "opsconsole.recovery.tasks.poll_dlq_depths", 30.0),
        PeriodicJob("tend-jobs", "opsconsole.recovery.tasks.tend_jobs", 10.0),
        # Execution recovery: the case page's actions, and the verified outcome of each.
        plugins.Panel(
            name="recovery",
            title="Recovery",
            url_name="recovery:saga_panel",
            link_text="Show what can be done to recover this saga",
            role="viewer",
            order=20,
        ),
        PeriodicJob(
            "verify-recovery-actions", "opsconsole.recovery.tasks.verify_recovery_actions", 10.0
        ),
        PeriodicJob("poll-replays", "opsconsole.recovery.tasks.poll_replays", 10.0),
    )

    def ready(self) -> None:
        super().ready()
        from opsconsole.web.problems import register_errors

        from .errors import ERROR_SPECS

        register_errors(ERROR_SPECS)
        from .executions.problems import ERROR_SPECS as EXECUTION_ERRORS
        from .replays.problems import ERROR_SPECS as REPLAY_ERRORS

        register_errors(EXECUTION_ERRORS)
        register_errors(REPLAY_ERRORS)
        from .executions.handlers import register as register_job_handlers

        register_job_handlers()
