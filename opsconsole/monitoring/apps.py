from collections.abc import Iterable

from django.urls import reverse

from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


def _nav_links() -> Iterable[tuple[str, str]]:
    # The count of firing alerts rides in the link, for every role that sees the nav.
    from .models import Alert, AlertState

    firing = Alert.objects.filter(state=AlertState.FIRING).count()
    label = f"Alerts ({firing} firing)" if firing else "Alerts"
    return [(label, reverse("monitoring:alerts"))]


def _firing_counter(request: object) -> plugins.Count | None:
    from .models import Alert, AlertState

    rules = list(Alert.objects.filter(state=AlertState.FIRING).values_list("rule", flat=True))
    if not rules:
        return None  # all quiet: the overview says nothing
    names = sorted(set(rules))
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return plugins.Count(
        label=f"alerts firing: {shown}",
        count=len(rules),
        url=reverse("monitoring:alerts") + "?state=firing",
    )


class MonitoringConfig(plugins.PluginConfig):
    name = "opsconsole.monitoring"
    nav = plugins.Nav(order=40, links=_nav_links, role="viewer")
    plugs = (
        plugins.TargetLink("alert", "monitoring:alert"),
        plugins.Counter("alerts-firing", _firing_counter, role="viewer", order=5),
        PeriodicJob(
            "poll-metrics",
            "opsconsole.monitoring.tasks.poll_metrics",
            lambda settings: settings.MONITORING_POLL_SECONDS,
        ),
        PeriodicJob(
            "evaluate-alerts",
            "opsconsole.monitoring.tasks.evaluate_alerts",
            lambda settings: settings.MONITORING_EVALUATE_SECONDS,
        ),
        PeriodicJob("keep-samples", "opsconsole.monitoring.tasks.keep_samples", 300.0),
    )

    def ready(self) -> None:
        super().ready()
        from opsconsole.web.problems import register_errors

        from .errors import ERROR_SPECS

        register_errors(ERROR_SPECS)
