from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


class RecoveryConfig(plugins.PluginConfig):
    name = "opsconsole.recovery"
    nav = plugins.Nav(order=30, label="Recovery", url_name="recovery:index", role="viewer")
    plugs = (
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
