"""The `alert_rules` section of the configuration file: config as code, checked at startup.

A rule watches one signal: a CloudWatch metric (`signal: metric` with namespace, metric and
dimensions; the poller fetches it) or a console signal a feature registered (`dlq_depth`,
`saga_sla_breaches` ...; see `opsconsole.plugins.Signal`). Each evaluation reduces the
samples of the last `window` with `statistic`, compares with `threshold`, and drives the
alert's lifecycle (see `evaluation.py`). Durations are seconds or `30s`, `5m`, `1h`, `2d`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opsconsole.registry import Fields, Invalid, Registry, Section

ALERT_SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
ALERT_COMPARISONS = (">", ">=", "<", "<=", "==", "!=")
STATISTICS = ("last", "avg", "min", "max", "sum", "count")
# What a rule's state becomes when its signal has no samples in the window, or cannot be read.
NO_DATA_MEANINGS = ("nodata", "ok", "firing", "keep")
ERROR_MEANINGS = ("error", "firing", "keep")
CLOUDWATCH_STATS = ("Maximum", "Minimum", "Average", "Sum", "SampleCount")

_DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class AlertRule:
    name: str
    description: str
    severity: str
    comparison: str
    threshold: float
    # Either "metric" (a CloudWatch metric) or a registered console signal ("dlq_depth"...).
    signal: str
    namespace: str | None = None
    metric: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    stat: str = "Maximum"  # the CloudWatch statistic the poller asks for, per period
    period_seconds: int = 60
    statistic: str = "last"  # how the window's samples become one value
    window_seconds: int = 300
    for_seconds: int = 0
    keep_firing_for_seconds: int = 0
    target: str | None = None  # shorthand: the signal's first label must equal it
    match: dict[str, str] = field(default_factory=dict)  # label filters on the signal's series
    labels: dict[str, str] = field(default_factory=dict)  # added to every alert of the rule
    no_data: str = "nodata"
    on_error: str = "error"
    channels: tuple[str, ...] = ()
    repeat_interval_seconds: int = 4 * 3600
    group_by: tuple[str, ...] = ("alertname",)
    inhibits: tuple[str, ...] = ()  # rules whose alerts this one mutes while it fires
    inhibit_equal: tuple[str, ...] = ()  # ... when these labels are equal on both


def duration(s: Fields, key: str, default: int) -> int:
    """A duration field in seconds (`90`, `30s`, `5m`, `1h`, `2d`)."""
    node = s._get(key)
    if node is None or node.value is None:
        return default
    value = node.value
    if isinstance(value, bool):
        raise Invalid(node.line, s._name(key), f"must be a duration like 5m, got {value!r}")
    if isinstance(value, int):
        seconds = value
    else:
        found = _DURATION.match(str(value).strip())
        if not found:
            raise Invalid(node.line, s._name(key), f"must be a duration like 5m, got {value!r}")
        seconds = int(found.group(1)) * _UNITS[found.group(2)]
    if seconds < 0:
        raise Invalid(node.line, s._name(key), "must not be negative")
    return seconds


def _labels(s: Fields, key: str) -> dict[str, str]:
    out = {}
    for k, v in s.mapping(key).items():
        if v.value is None or isinstance(v.value, list | dict):
            raise Invalid(v.line, f"{s._name(key)}.{k}", "must be a plain value")
        out[str(k)] = str(v.value)
    return out


def _alert_rule(s: Fields, name: str) -> AlertRule:
    signal = s.text("signal", "metric")
    namespace = s.text("namespace", required=False)
    metric = s.text("metric", required=False)
    if signal == "metric" and not (namespace and metric):
        raise Invalid(
            s.node.line, f"{s.where}.metric", "a metric rule needs both namespace and metric"
        )
    period = s.integer("period_seconds", 60, minimum=1)
    window = duration(s, "window", max(300, period))
    if window < 1:
        raise s._invalid("window", "must be at least 1 second")
    return AlertRule(
        name=name,
        description=s.text("description", name),
        severity=s.choice("severity", ALERT_SEVERITIES, "warning"),
        comparison=s.choice("comparison", ALERT_COMPARISONS, ">"),
        threshold=s.number("threshold"),
        signal=signal,
        namespace=namespace,
        metric=metric,
        dimensions=_labels(s, "dimensions"),
        stat=s.choice("stat", CLOUDWATCH_STATS, "Maximum"),
        period_seconds=period,
        statistic=s.choice("statistic", STATISTICS, "last"),
        window_seconds=window,
        for_seconds=duration(s, "for", 0),
        keep_firing_for_seconds=duration(s, "keep_firing_for", 0),
        target=s.text("target", required=False),
        match=_labels(s, "match"),
        labels=_labels(s, "labels"),
        no_data=s.choice("no_data", NO_DATA_MEANINGS, "nodata"),
        on_error=s.choice("on_error", ERROR_MEANINGS, "error"),
        channels=tuple(s.str_list("channels")),
        repeat_interval_seconds=max(60, duration(s, "repeat_interval", 4 * 3600)),
        group_by=tuple(s.str_list("group_by")) or ("alertname",),
        inhibits=tuple(s.str_list("inhibits")),
        inhibit_equal=tuple(s.str_list("inhibit_equal")),
    )


def _parse(entries: list[Fields], registry: Registry, line: int) -> tuple[AlertRule, ...]:
    from opsconsole.registry import unique

    built: list[AlertRule] = []
    seen: dict[str, int] = {}
    where: dict[str, Fields] = {}
    for s in entries:
        name = s.text("name")
        unique(name, seen, s)
        built.append(_alert_rule(s, name))
        where[name] = s
        s.done()
    # Inhibition names other rules: they must exist, and a rule does not mute itself.
    for rule in built:
        s = where[rule.name]
        for other in rule.inhibits:
            if other not in seen:
                raise s._invalid("inhibits", f"names no rule of this file: {other!r}")
            if other == rule.name:
                raise s._invalid("inhibits", "a rule cannot inhibit itself")
    # Channels are another feature's section (parsed before this one): known by name here,
    # so a typo fails the file instead of an alert going nowhere at 2 AM.
    known = registry.sections.get("notification_channels")
    if known is not None:
        names = sorted(c.name for c in known)
        for rule in built:
            for channel in rule.channels:
                if channel not in names:
                    raise where[rule.name]._invalid(
                        "channels",
                        f"names no notification channel: {channel!r} "
                        f"(notification_channels names {', '.join(names) or 'none'})",
                    )
    return tuple(built)


def alert_rules(registry: Registry) -> tuple[AlertRule, ...]:
    rules: tuple[AlertRule, ...] = registry.section("alert_rules")
    return rules


SECTIONS = [Section("alert_rules", _parse, order=50)]
