from django.urls import reverse

from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


def _kind_links() -> list[tuple[str, str]]:
    from opsconsole.registry import get_registry

    return [
        (kind.label, reverse("sagas:list", args=[kind.key]))
        for kind in get_registry().kinds.values()
    ]


class SagasConfig(plugins.PluginConfig):
    name = "sagas"
    # Every signed-in user sees the kinds; the list pages check the role themselves.
    nav = plugins.Nav(order=10, links=_kind_links)
    plugs = (
        plugins.Panel(
            name="tickets",
            title="Tickets",
            url_name="sagas:tickets_panel",
            link_text="Tickets of this saga",
            role="viewer",
            order=20,
        ),
        PeriodicJob(
            "sync-sagas",
            "sagas.tasks.sync_all_kinds",
            lambda settings: settings.SYNC_INTERVAL_SECONDS,
        ),
        PeriodicJob(
            "sagas-status-events",
            "sagas.tasks.consume_status_events",
            lambda settings: settings.SYNC_EVENTS_INTERVAL,
        ),
        # Business signals for monitoring's rules and charts (sagas/signals.py).
        plugins.Signal(
            "step_sla_breaches",
            ("kind", "step"),
            "sagas.signals.step_sla_breaches",
            "Running sagas past a step's SLA",
            "sagas.signals.link_stuck",
        ),
        *(
            plugins.Signal(name, labels, f"sagas.signals.{name}", doc, "sagas.signals.link")
            for name, labels, doc in (
                ("saga_sla_breaches", ("kind",), "Running sagas past their saga SLA"),
                ("compensation_rate", ("kind",), "Share of sagas compensated, last hour"),
                ("success_rate", ("kind",), "Share of sagas succeeded, last hour"),
                ("failures_by_step", ("kind", "step"), "Sagas ended badly, last hour, by step"),
                ("sync_lag_seconds", ("kind",), "Seconds since the read model last synced"),
            )
        ),
    )

    def ready(self) -> None:
        super().ready()
        from opsconsole.web.problems import register_errors

        from .errors import ERRORS

        register_errors(ERRORS)
