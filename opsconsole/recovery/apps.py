from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


class RecoveryConfig(plugins.PluginConfig):
    name = "opsconsole.recovery"
    nav = plugins.Nav(order=30, label="Recovery", url_name="recovery:index", role="viewer")
    plugs = (
        plugins.TargetLink("job", "recovery:job"),
        plugins.TargetLink("replay", "recovery:replay"),
        plugins.TargetLink("dlq", "recovery:dlq", numeric=False),
        PeriodicJob("poll-dlq-depths", "opsconsole.recovery.tasks.poll_dlq_depths", 30.0),
        # For monitoring's rules: each DLQ's depth from SQS attributes (recovery/signals.py).
        plugins.Signal(
            "dlq_depth",
            ("dlq", "queue", "kind"),
            "opsconsole.recovery.signals.dlq_depth",
            "Visible messages in a dead-letter queue (SQS attributes)",
            "opsconsole.recovery.signals.link",
        ),
        PeriodicJob("tend-jobs", "opsconsole.recovery.tasks.tend_jobs", 10.0),
        PeriodicJob(
            "snapshot-dead-letters", "opsconsole.recovery.tasks.snapshot_dead_letters", 30.0
        ),
        plugins.Panel(
            name="dead-letters",
            title="Dead letters for this saga",
            url_name="recovery:dlq_saga_panel",
            link_text="Show the dead letters of this saga",
            role="viewer",
            order=30,
        ),
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

        from .dlq import handlers
        from .dlq.errors import ERROR_SPECS as DLQ_ERROR_SPECS

        register_errors(DLQ_ERROR_SPECS)
        handlers.register()
        from .executions.problems import ERROR_SPECS as EXECUTION_ERRORS
        from .replays.problems import ERROR_SPECS as REPLAY_ERRORS

        register_errors(EXECUTION_ERRORS)
        register_errors(REPLAY_ERRORS)
        from .executions.handlers import register as register_job_handlers

        register_job_handlers()
