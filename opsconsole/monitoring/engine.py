"""One monitoring tick: read the features' signals into samples, evaluate every rule, write
each alert's change as a Transition row (then `notify.process` decides who hears of it).

Safe to run twice: a second run at the same moment finds every alert already in its new
state, so it writes no second transition; a repeat reminder is written only when the alert
has no transition still waiting for the notify pass.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils.module_loading import import_string

from opsconsole import plugins
from opsconsole.registry import get_registry

from . import evaluation as ev
from . import series
from .config import AlertRule, alert_rules
from .models import Alert, Transition

log = logging.getLogger(__name__)


@dataclass
class Reading:
    """One signal's values this tick, or why it could not be computed."""

    series: list[tuple[dict[str, str], float | None]] = field(default_factory=list)
    error: str = ""


def collect_signals(now: datetime, names: Sequence[str] | None = None) -> dict[str, Reading]:
    """Compute every registered signal (or `names`) and store its values as samples at `now`."""
    readings: dict[str, Reading] = {}
    points: list[tuple[str, datetime, float]] = []
    at = now.replace(microsecond=0)
    for name, signal in plugins.signals().items():
        if names is not None and name not in names:
            continue
        try:
            values = list(import_string(signal.compute)(now))
        except Exception as exc:  # noqa: BLE001 - a broken signal is an alert in error
            log.warning("signal %s failed: %s", name, exc)
            readings[name] = Reading(error=f"{type(exc).__name__}: {exc}"[:300])
            continue
        readings[name] = Reading([(dict(labels), v) for labels, v in values])
        points.extend(
            (series.signal_key(name, labels), at, float(v)) for labels, v in values if v is not None
        )
    series.write(points)
    return readings


@dataclass(frozen=True)
class _Target:
    rule: AlertRule
    labels: dict[str, str]
    key: str
    error: str = ""


def _link(signal: plugins.Signal | None, labels: Mapping[str, str]) -> str:
    if signal is None or not signal.link:
        return ""
    try:
        return str(import_string(signal.link)(dict(labels)) or "")
    except Exception:  # noqa: BLE001 - a link is a nicety; never fail a tick for it
        return ""


def _targets(
    rules: Sequence[AlertRule],
    readings: Mapping[str, Reading],
    existing: Mapping[tuple[str, str], Alert],
) -> list[_Target]:
    registered = plugins.signals()
    targets: list[_Target] = []
    index: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for name, got in readings.items():
        for labels, _value in got.series:
            for k, v in labels.items():
                index.setdefault((name, k, v), []).append(labels)
    by_rule: dict[str, list[Alert]] = {}
    for (name, _fp), alert in existing.items():
        by_rule.setdefault(name, []).append(alert)
    for rule in rules:
        seen: set[str] = set()
        if rule.signal == "metric":
            labels = dict(rule.dimensions)
            key = series.metric_key(rule.namespace or "", rule.metric or "", labels, rule.stat)
            targets.append(_Target(rule, labels, key))
            seen.add(ev.fingerprint(labels))
        else:
            signal = registered.get(rule.signal)
            reading = readings.get(rule.signal)
            error = ""
            if signal is None:
                error = f"no feature registers the signal {rule.signal!r}"
            elif reading is None:
                error = f"the signal {rule.signal!r} was not computed"
            elif reading.error:
                error = reading.error
            if error:
                olds: list[Alert | None] = list(by_rule.get(rule.name, ())) or [None]
                for old in olds:
                    labels = dict(old.labels) if old else {}
                    key = series.signal_key(rule.signal, labels)
                    targets.append(_Target(rule, labels, key, error))
                    seen.add(ev.fingerprint(labels))
                continue
            if signal is None or reading is None:  # pragma: no cover - reported above
                continue
            for labels in _candidates(rule, signal, reading, index):
                if ev.series_wanted(rule, signal.labels, labels):
                    targets.append(_Target(rule, labels, series.signal_key(rule.signal, labels)))
                    seen.add(ev.fingerprint(labels))
        # A series that disappeared still has its alert: evaluated on what is left (no data).
        for alert in by_rule.get(rule.name, ()):
            if alert.fingerprint not in seen:
                labels = dict(alert.labels)
                key = (
                    series.metric_key(rule.namespace or "", rule.metric or "", labels, rule.stat)
                    if rule.signal == "metric"
                    else series.signal_key(rule.signal, labels)
                )
                targets.append(_Target(rule, labels, key))
    return targets


def _candidates(
    rule: AlertRule,
    signal: plugins.Signal,
    reading: Reading,
    index: Mapping[tuple[str, str, str], list[dict[str, str]]],
) -> list[dict[str, str]]:
    """The series a rule may watch, looked up by one of its label filters (a thousand rules
    each matching one series of a thousand would otherwise compare a million)."""
    if rule.target is not None and signal.labels:
        return index.get((rule.signal, signal.labels[0], rule.target), [])
    for k, v in rule.match.items():
        return index.get((rule.signal, k, v), [])
    return [labels for labels, _value in reading.series]


def _memory(alert: Alert | None) -> ev.Memory:
    if alert is None:
        return ev.Memory()
    return ev.Memory(
        state=alert.state,
        state_since=alert.state_since,
        pending_since=alert.pending_since,
        last_true_at=alert.last_true_at,
        fired_at=alert.fired_at,
    )


_ALERT_FIELDS = [
    "state",
    "state_since",
    "pending_since",
    "last_true_at",
    "fired_at",
    "value",
    "error",
    "evaluated_at",
    "severity",
    "link",
    "acknowledged_by",
    "acknowledged_at",
    "ack_note",
]


def _write_alerts(alerts: list[Alert]) -> None:
    """One parametrised UPDATE per alert, sent as a batch (executemany): Django's
    bulk_update builds a CASE per field and row, seconds for a thousand alerts."""
    if not alerts:
        return
    fields: list[Any] = [Alert._meta.get_field(name) for name in _ALERT_FIELDS]
    table = connection.ops.quote_name(Alert._meta.db_table)
    sets = ", ".join(f"{connection.ops.quote_name(f.column)} = %s" for f in fields)
    sql = f"UPDATE {table} SET {sets} WHERE id = %s"  # noqa: S608 - names from the model
    rows = [
        [f.get_db_prep_save(getattr(a, f.attname), connection) for f in fields] + [a.pk]
        for a in alerts
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


@dataclass
class TickResult:
    evaluated: int = 0
    transitions: int = 0
    repeats: int = 0


def evaluate_rules(
    now: datetime,
    rules: Sequence[AlertRule] | None = None,
    readings: Mapping[str, Reading] | None = None,
) -> TickResult:
    """Evaluate every rule against the samples of its window; write the changes."""
    rules = list(alert_rules(get_registry()) if rules is None else rules)
    if readings is None:
        # Every registered signal, not only those the rules use: the dashboard charts them.
        readings = collect_signals(now)
    result = TickResult()
    registered = plugins.signals()
    with transaction.atomic():
        existing = {
            (a.rule, a.fingerprint): a
            for a in Alert.objects.select_for_update().filter(rule__in=[r.name for r in rules])
        }
        targets = _targets(rules, readings, existing)
        longest = max((r.window_seconds for r in rules), default=0)
        samples = series.window([t.key for t in targets], now - timedelta(seconds=longest), now)
        waiting = set(
            Transition.objects.filter(processed_at=None, alert__rule__in=[r.name for r in rules])
            .values_list("alert_id", flat=True)
            .distinct()
        )
        creates: list[Alert] = []
        updates: list[Alert] = []
        transitions: list[tuple[Alert, Transition]] = []
        for target in targets:
            rule = target.rule
            start = now - timedelta(seconds=rule.window_seconds)
            points = [(at, v) for at, v in samples.get(target.key, ()) if at >= start]
            obs = ev.Observation(
                value=None if target.error else ev.reduce(rule.statistic, [v for _, v in points]),
                error=target.error,
                samples=tuple(points),
            )
            fp = ev.fingerprint(target.labels)
            alert = existing.get((rule.name, fp))
            outcome = ev.step(rule, _memory(alert), obs, now)
            after = outcome.after
            if alert is None:
                alert = Alert(
                    rule=rule.name,
                    fingerprint=fp,
                    labels=target.labels,
                    state_since=after.state_since or now,
                )
                creates.append(alert)
                before = None
            else:
                before = tuple(getattr(alert, f) for f in _ALERT_FIELDS if f != "evaluated_at")
            alert.state = after.state
            alert.state_since = after.state_since or alert.state_since or now
            alert.pending_since = after.pending_since
            alert.last_true_at = after.last_true_at
            alert.fired_at = after.fired_at
            alert.value = obs.value
            alert.error = obs.error
            alert.evaluated_at = now
            alert.severity = rule.severity
            if not alert.link:
                alert.link = _link(registered.get(rule.signal), target.labels)[:500]
            result.evaluated += 1
            if before is not None and before != tuple(
                getattr(alert, f) for f in _ALERT_FIELDS if f != "evaluated_at"
            ):
                updates.append(alert)
            if outcome.changed:
                if after.state == ev.FIRING:
                    # A new incident: the last one's acknowledgement does not carry over.
                    alert.acknowledged_by, alert.acknowledged_at, alert.ack_note = "", None, ""
                transitions.append(
                    (
                        alert,
                        Transition(
                            from_state=outcome.before.state,
                            to_state=after.state,
                            value=obs.value,
                            at=now,
                            samples=[[at.isoformat(), v] for at, v in points[-60:]],
                            error=obs.error,
                        ),
                    )
                )
            elif alert.pk not in waiting and ev.repeat_due(
                rule, after.state, alert.last_notified_at, now
            ):
                transitions.append(
                    (
                        alert,
                        Transition(
                            from_state=ev.FIRING,
                            to_state=ev.FIRING,
                            repeat=True,
                            value=obs.value,
                            at=now,
                            samples=[[at.isoformat(), v] for at, v in points[-60:]],
                        ),
                    )
                )
                result.repeats += 1
        Alert.objects.bulk_create(creates, batch_size=500)
        # Only what changed is written; the evaluation time of the others in one statement.
        _write_alerts(updates)
        Alert.objects.filter(pk__in=[a.pk for a in existing.values()]).update(evaluated_at=now)
        rows = []
        for alert, row in transitions:
            row.alert = alert
            rows.append(row)
        Transition.objects.bulk_create(rows, batch_size=500)
        result.transitions = len(rows) - result.repeats
    return result


def tick(now: datetime) -> dict[str, Any]:
    """Signals, rules, notifications: what the beat runs every few seconds."""
    from . import notify

    evaluated = evaluate_rules(now)
    told = notify.process(now)
    return {
        "evaluated": evaluated.evaluated,
        "transitions": evaluated.transitions,
        "repeats": evaluated.repeats,
        "events": told,
    }
