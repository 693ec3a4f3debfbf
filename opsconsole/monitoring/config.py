"""The `alert_rules` section of the configuration file."""

from __future__ import annotations

from dataclasses import dataclass, field

from opsconsole.registry import Fields, Invalid, Registry, Section, named_entries

ALERT_SEVERITIES = ("info", "warning", "critical")
ALERT_COMPARISONS = (">", ">=", "<", "<=")


@dataclass(frozen=True)
class AlertRule:
    name: str
    description: str
    severity: str
    comparison: str
    threshold: float
    # Either a CloudWatch metric or a console signal ("dlq_depth", "saga_failures"...).
    signal: str
    namespace: str | None = None
    metric: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    stat: str = "Maximum"
    period_seconds: int = 60
    for_evaluations: int = 1
    target: str | None = None  # the queue, kind or resource it watches


def _alert_rule(s: Fields, name: str, registry: Registry) -> AlertRule:
    dims = {k: str(v.value) for k, v in s.mapping("dimensions").items()}
    signal = s.text("signal", "metric")
    namespace = s.text("namespace", required=False)
    metric = s.text("metric", required=False)
    if signal == "metric" and not (namespace and metric):
        raise Invalid(
            s.node.line, f"{s.where}.metric", "a metric rule needs both namespace and metric"
        )
    return AlertRule(
        name=name,
        description=s.text("description", name),
        severity=s.choice("severity", ALERT_SEVERITIES, "warning"),
        comparison=s.choice("comparison", ALERT_COMPARISONS, ">"),
        threshold=s.number("threshold"),
        signal=signal,
        namespace=namespace,
        metric=metric,
        dimensions=dims,
        stat=s.text("stat", "Maximum"),
        period_seconds=s.integer("period_seconds", 60, minimum=1),
        for_evaluations=s.integer("for_evaluations", 1, minimum=1),
        target=s.text("target", required=False),
    )


def alert_rules(registry: Registry) -> tuple[AlertRule, ...]:
    return registry.section("alert_rules")


SECTIONS = [Section("alert_rules", named_entries(_alert_rule), order=50)]
