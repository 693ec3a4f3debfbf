"""When people hear of an alert: on a change of state only, grouped, once per change.

`process(now)` takes the transitions nobody has decided on yet, claims each one exactly once
(a conditional update on `processed_at`: a task delivered twice finds nothing left to
claim), and decides: a change nobody is told about (pending, no data ...) is `quiet`; one
matched by an active silence is `silenced`; one muted by a firing alert of a rule that
`inhibits` it is `inhibited`; the rest are `emitted` as domain events, one event per rule,
group key and kind of news (the alerts of one group that changed in the same pass travel
together). The events are emitted inside the claiming transaction, so a rollback takes both.

Delivery (email, SNS, signed webhooks, ServiceNow) is not done here: `opsconsole.integrations`
subscribes to the events below and delivers them over the rule's `channels`.

The events
----------
`alert.firing`   an alert started firing, or (`data.repeat` true) still fires after the
                 rule's repeat interval.
`alert.resolved` a firing alert stopped firing (`data.state` says into what: resolved,
                 or nodata/error when its signal went away).
`alert.acknowledged` a person acknowledged a firing alert (emitted by `actions.acknowledge`;
                 the actor is the person; `data.note` their note).

`target` is `Target(type="alert", id=<the first alert's id>, label=<rule description>,
url=<the alert's page>)`. `data` carries:

    rule         the rule's name                 severity   info | warning | critical
    description  the rule's description          channels   the rule's channels (list)
    labels       the group's labels (alertname, severity, the rule's labels and the
                 group_by labels)
    group_key    "alertname=dlq-not-empty" ...   repeat     true for a reminder
    state        firing | resolved | nodata | error | acknowledged
    value        the first alert's value (number or null)
    threshold, comparison                        the rule's condition
    link         path of the page the alert is about (the DLQ, the saga list filtered to
                 the step ...), or of the alert's page; integrations make it absolute
    alert_url    path of the alert's page in the console
    alerts       every alert of the group: [{id, labels, value, state, since, link,
                 acknowledged_by}]
    dedup_key    stable per rule and group (PagerDuty dedup_key, ServiceNow correlation_id)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.urls import reverse

from opsconsole import events
from opsconsole.registry import get_registry

from . import evaluation as ev
from .config import AlertRule, alert_rules
from .models import Alert, Silence, Transition

BATCH = 1000


def active_silences(now: datetime) -> list[Silence]:
    return list(
        Silence.objects.filter(starts_at__lte=now, ends_at__gt=now, expired_at__isnull=True)
    )


def silence_for(labels: Mapping[str, str], silences: list[Silence]) -> Silence | None:
    return next((s for s in silences if ev.matches(s.matchers, labels)), None)


def alert_item(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "labels": dict(alert.labels),
        "value": alert.value,
        "state": alert.state,
        "since": alert.state_since.isoformat().replace("+00:00", "Z"),
        "link": alert.link or reverse("monitoring:alert", args=[alert.pk]),
        "acknowledged_by": alert.acknowledged_by,
    }


def event_data(
    rule: AlertRule, alerts: list[Alert], *, state: str, repeat: bool, group: str
) -> dict[str, Any]:
    first = alerts[0]
    labels = ev.alert_labels(rule, first.labels)
    common = {
        k: v
        for k, v in labels.items()
        if k in rule.group_by or k in rule.labels or k in ("alertname", "severity")
    }
    return {
        "rule": rule.name,
        "description": rule.description,
        "severity": rule.severity,
        "labels": common,
        "channels": list(rule.channels),
        "group_key": group,
        "dedup_key": f"opsconsole:{rule.name}:{group}",
        "repeat": repeat,
        "state": state,
        "value": first.value,
        "threshold": rule.threshold,
        "comparison": rule.comparison,
        "link": first.link or reverse("monitoring:alert", args=[first.pk]),
        "alert_url": reverse("monitoring:alert", args=[first.pk]),
        "alerts": [alert_item(a) for a in alerts],
    }


def _claim(rows: list[Transition], now: datetime) -> list[Transition]:
    claimed = []
    for row in rows:
        if Transition.objects.filter(pk=row.pk, processed_at__isnull=True).update(processed_at=now):
            row.processed_at = now
            claimed.append(row)
    return claimed


def process(now: datetime, rules: list[AlertRule] | None = None) -> int:
    """Decide on every unprocessed transition; return how many events were emitted."""
    by_name = {r.name: r for r in (alert_rules(get_registry()) if rules is None else rules)}
    emitted = 0
    with transaction.atomic():
        pending = list(
            Transition.objects.select_for_update(skip_locked=True)
            .filter(processed_at__isnull=True)
            .select_related("alert")
            .order_by("id")[:BATCH]
        )
        if not pending:
            return 0
        claimed = _claim(pending, now)
        silences = active_silences(now)
        firing = [
            ev.FiringAlert(a.rule, a.severity, ev.alert_labels(by_name[a.rule], a.labels))
            for a in Alert.objects.filter(state=ev.FIRING, rule__in=list(by_name))
        ]
        groups: dict[tuple[str, str, str, bool], list[Transition]] = defaultdict(list)
        touched: dict[int, Alert] = {}
        for row in claimed:
            alert = row.alert
            rule = by_name.get(alert.rule)
            if rule is None or not ev.is_notifiable(row.from_state, row.to_state):
                row.outcome = "quiet"
                continue
            labels = ev.alert_labels(rule, alert.labels)
            row.group_key = ev.group_key(rule, labels)[:300]
            if row.to_state == ev.FIRING:
                # Decided, whatever the outcome: the next reminder is a repeat interval away.
                alert.last_notified_at = now
                touched[alert.pk] = alert
            if silence_for(labels, silences) is not None:
                row.outcome = "silenced"
                continue
            if ev.inhibited(rule, labels, firing, by_name) is not None:
                row.outcome = "inhibited"
                continue
            news = "alert.firing" if row.to_state == ev.FIRING else "alert.resolved"
            groups[(rule.name, row.group_key, news, row.repeat)].append(row)
        for (rule_name, group, news, repeat), rows in groups.items():
            rule = by_name[rule_name]
            alerts = [r.alert for r in rows]
            first = alerts[0]
            event = events.emit(
                news,
                target=events.Target(
                    type="alert",
                    id=str(first.pk),
                    label=rule.description,
                    url=reverse("monitoring:alert", args=[first.pk]),
                ),
                data=event_data(rule, alerts, state=rows[0].to_state, repeat=repeat, group=group),
            )
            emitted += 1
            for r in rows:
                r.outcome, r.event_id = "emitted", event.id
        # Grouped writes: rows sharing an outcome, event and group are one UPDATE each.
        same: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        for row in claimed:
            same[(row.outcome, row.event_id, row.group_key)].append(row.pk)
        for (outcome, event_id, group_key), pks in same.items():
            Transition.objects.filter(pk__in=pks).update(
                outcome=outcome, event_id=event_id, group_key=group_key
            )
        Alert.objects.filter(pk__in=list(touched)).update(last_notified_at=now)
    return emitted
