"""The alert lifecycle as pure functions: no database, no AWS, no clock of their own.

`step(rule, memory, observation, now)` is one evaluation of one alert: from what the alert
remembers (its state and since when) and what the window's samples say, the next memory.
The engine (`engine.py`) loads, calls this, and writes each change as a Transition row.

States: normal -> pending (the condition holds, waiting out `for`) -> firing -> resolved
(the condition stopped holding, and `keep_firing_for` has passed); `nodata` when the signal
has no samples in the window and `error` when it cannot be read, unless the rule says
otherwise (`no_data: ok|firing|keep`, `on_error: firing|keep`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .config import SEVERITY_RANK, AlertRule

NORMAL, PENDING, FIRING, RESOLVED, NODATA, ERROR = (
    "normal",
    "pending",
    "firing",
    "resolved",
    "nodata",
    "error",
)
# A change into these, or out of firing, is what people are told about.
NOTIFIABLE = {FIRING}


@dataclass(frozen=True)
class Observation:
    """What the window says: its reduced value (None: no data) or why it cannot be read."""

    value: float | None
    error: str = ""
    samples: tuple[tuple[datetime, float], ...] = ()


@dataclass(frozen=True)
class Memory:
    """What an alert keeps between evaluations."""

    state: str = NORMAL
    state_since: datetime | None = None
    pending_since: datetime | None = None
    last_true_at: datetime | None = None
    fired_at: datetime | None = None


@dataclass(frozen=True)
class Step:
    before: Memory
    after: Memory

    @property
    def changed(self) -> bool:
        return self.before.state != self.after.state


def reduce(statistic: str, values: Sequence[float]) -> float | None:
    """The window's samples (oldest first) as one value; None when there are none."""
    if not values:
        return None
    if statistic == "last":
        return values[-1]
    if statistic == "avg":
        return sum(values) / len(values)
    if statistic == "min":
        return min(values)
    if statistic == "max":
        return max(values)
    if statistic == "sum":
        return sum(values)
    if statistic == "count":
        return float(len(values))
    raise ValueError(f"unknown statistic {statistic!r}")


def holds(value: float, comparison: str, threshold: float) -> bool:
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
        "==": value == threshold,
        "!=": value != threshold,
    }[comparison]


def _moved(memory: Memory, state: str, now: datetime, **changes: object) -> Memory:
    if memory.state == state:
        return replace(memory, **changes)  # type: ignore[arg-type]
    return replace(memory, state=state, state_since=now, **changes)  # type: ignore[arg-type]


def step(rule: AlertRule, memory: Memory, obs: Observation, now: datetime) -> Step:
    """One evaluation of one alert."""
    condition: bool | None
    if obs.error:
        meaning = rule.on_error
        if meaning == "keep":
            return Step(memory, memory)
        if meaning == "error":
            return Step(memory, _moved(memory, ERROR, now, pending_since=None))
        condition = True
    elif obs.value is None:
        meaning = rule.no_data
        if meaning == "keep":
            return Step(memory, memory)
        if meaning == "nodata":
            return Step(memory, _moved(memory, NODATA, now, pending_since=None))
        condition = meaning == "firing"
    else:
        condition = holds(obs.value, rule.comparison, rule.threshold)

    state = memory.state
    if condition:
        if state == FIRING:
            return Step(memory, replace(memory, last_true_at=now))
        if state == PENDING and memory.pending_since is not None:
            if now - memory.pending_since >= timedelta(seconds=rule.for_seconds):
                return Step(memory, _moved(memory, FIRING, now, last_true_at=now, fired_at=now))
            return Step(memory, replace(memory, last_true_at=now))
        if rule.for_seconds <= 0:
            return Step(
                memory,
                _moved(memory, FIRING, now, last_true_at=now, fired_at=now, pending_since=None),
            )
        return Step(memory, _moved(memory, PENDING, now, pending_since=now, last_true_at=now))

    if state == FIRING:
        keep = timedelta(seconds=rule.keep_firing_for_seconds)
        if (
            rule.keep_firing_for_seconds
            and memory.last_true_at
            and now - memory.last_true_at < keep
        ):
            return Step(memory, memory)
        return Step(memory, _moved(memory, RESOLVED, now, pending_since=None))
    if state in (PENDING, NODATA, ERROR):
        return Step(memory, _moved(memory, NORMAL, now, pending_since=None))
    return Step(memory, memory)  # normal or resolved stays as it is


def repeat_due(
    rule: AlertRule, state: str, last_notified_at: datetime | None, now: datetime
) -> bool:
    """A firing alert is told about again once its repeat interval has passed."""
    return (
        state == FIRING
        and last_notified_at is not None
        and now - last_notified_at >= timedelta(seconds=rule.repeat_interval_seconds)
    )


def is_notifiable(from_state: str, to_state: str) -> bool:
    """People hear of an alert starting to fire and of it no longer firing; nothing else."""
    return to_state == FIRING or from_state == FIRING


def alert_labels(rule: AlertRule, series_labels: Mapping[str, str]) -> dict[str, str]:
    """What silences, grouping and inhibition match on."""
    return {
        **dict(series_labels),
        **rule.labels,
        "alertname": rule.name,
        "severity": rule.severity,
    }


def fingerprint(series_labels: Mapping[str, str]) -> str:
    return hashlib.sha1(  # noqa: S324 - a key, not a secret
        json.dumps(dict(series_labels), sort_keys=True).encode()
    ).hexdigest()


def group_key(rule: AlertRule, labels: Mapping[str, str]) -> str:
    """Alerts with the same value for each of the rule's `group_by` labels notify together."""
    return ",".join(f"{name}={labels.get(name, '')}" for name in rule.group_by)


def matches(matchers: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A silence matches an alert when every matcher equals the alert's label."""
    return bool(matchers) and all(labels.get(k) == v for k, v in matchers.items())


def series_wanted(rule: AlertRule, label_names: Sequence[str], labels: Mapping[str, str]) -> bool:
    """Whether a signal's series is one the rule watches (`target`, then `match`)."""
    if rule.target is not None and (not label_names or labels.get(label_names[0]) != rule.target):
        return False
    return all(labels.get(k) == v for k, v in rule.match.items())


@dataclass(frozen=True)
class FiringAlert:
    rule: str
    severity: str
    labels: Mapping[str, str]


def inhibited(
    rule: AlertRule,
    labels: Mapping[str, str],
    firing: Iterable[FiringAlert],
    rules: Mapping[str, AlertRule],
) -> FiringAlert | None:
    """The firing alert (of a rule that `inhibits` this one, with the `inhibit_equal` labels
    equal) that mutes this one; None when nothing does."""
    for other in firing:
        source = rules.get(other.rule)
        if source is None or rule.name not in source.inhibits:
            continue
        if SEVERITY_RANK[source.severity] < SEVERITY_RANK[rule.severity]:
            continue  # a lesser alert never mutes a greater one
        if all(other.labels.get(k) == labels.get(k) for k in source.inhibit_equal):
            return other
    return None
