"""What people do to alerts: acknowledge one, silence some by matchers, end a silence.

Each action checks the role, audits the refusal or the attempt and its outcome, changes
state exactly once (a conditional update), and emits its domain event in the transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from opsconsole import events
from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.identity.roles import ADMIN, OPERATOR
from opsconsole.registry import get_registry

from . import notify
from .config import alert_rules
from .errors import (
    AlertNotFound,
    AlreadyAcknowledged,
    InvalidSilence,
    MonitoringError,
    NotAnOperator,
    NotFiring,
    SilenceNotFound,
    SilenceOver,
)
from .models import Alert, AlertState, Silence

OPERATOR_ROLES = (OPERATOR, ADMIN)
MAX_NOTE = 2000
MAX_SILENCE = timedelta(days=30)
ACKNOWLEDGEABLE = (AlertState.FIRING, AlertState.PENDING)


def _refuse(
    actor: Actor, action: str, error: MonitoringError, target: str, tid: str
) -> MonitoringError:
    audit.record(
        actor,
        action,
        result="refused",
        target_type=target,
        target_id=tid,
        error=error.code,
        details={k: str(v) for k, v in error.params.items()},
    )
    return error


def _operator(actor: Actor, action: str, target: str, tid: str) -> None:
    if actor.role not in OPERATOR_ROLES:
        raise _refuse(actor, action, NotAnOperator(role=actor.role), target, tid)


def get_alert(alert_id: int | str) -> Alert:
    try:
        pk = int(alert_id)
    except (TypeError, ValueError):
        raise AlertNotFound(alert_id=str(alert_id)) from None
    alert = Alert.objects.filter(pk=pk).first()
    if alert is None:
        raise AlertNotFound(alert_id=pk)
    return alert


def acknowledge(alert_id: int | str, *, actor: Actor, note: str = "") -> Alert:
    """Say "someone is on it": who, when and a note; it mutes nothing."""
    alert = get_alert(alert_id)
    _operator(actor, "alert.acknowledge", "alert", str(alert.pk))
    note = (note or "").strip()[:MAX_NOTE]
    if alert.state not in ACKNOWLEDGEABLE:
        raise _refuse(
            actor, "alert.acknowledge", NotFiring(state=alert.state), "alert", str(alert.pk)
        )
    if alert.acknowledged_by:
        raise _refuse(
            actor,
            "alert.acknowledge",
            AlreadyAcknowledged(
                acknowledged_by=alert.acknowledged_by, acknowledged_at=alert.acknowledged_at
            ),
            "alert",
            str(alert.pk),
        )
    now = timezone.now()
    with audit.attempt(
        actor, "alert.acknowledge", target_type="alert", target_id=str(alert.pk), reason=note
    ) as attempt:
        with transaction.atomic():
            won = Alert.objects.filter(
                pk=alert.pk, acknowledged_by="", state__in=ACKNOWLEDGEABLE
            ).update(acknowledged_by=actor.id, acknowledged_at=now, ack_note=note)
            alert.refresh_from_db()
            if won:
                _emit_acknowledged(alert, actor, note)
        if not won:
            # A race lost: somebody acknowledged first, or the alert resolved meanwhile.
            error: MonitoringError = (
                AlreadyAcknowledged(
                    acknowledged_by=alert.acknowledged_by, acknowledged_at=alert.acknowledged_at
                )
                if alert.acknowledged_by
                else NotFiring(state=alert.state)
            )
            attempt.refused(error.code)
            raise error
    return alert


def _emit_acknowledged(alert: Alert, actor: Actor, note: str) -> None:
    from . import evaluation as ev

    rule = next((r for r in alert_rules(get_registry()) if r.name == alert.rule), None)
    if rule is not None:
        group = ev.group_key(rule, ev.alert_labels(rule, alert.labels))
        data = notify.event_data(rule, [alert], state="acknowledged", repeat=False, group=group)
    else:
        data = {"rule": alert.rule, "labels": dict(alert.labels), "state": "acknowledged"}
    data["note"] = note
    data["acknowledged_at"] = alert.acknowledged_at.isoformat() if alert.acknowledged_at else None
    events.emit(
        "alert.acknowledged",
        target=events.Target(
            type="alert",
            id=str(alert.pk),
            label=rule.description if rule else alert.rule,
            url=reverse("monitoring:alert", args=[alert.pk]),
        ),
        actor=actor,
        data=data,
    )


def _clean_matchers(matchers: Mapping[str, str]) -> dict[str, str]:
    clean = {str(k).strip(): str(v).strip() for k, v in (matchers or {}).items() if str(k).strip()}
    clean = {k: v for k, v in clean.items() if v}
    if not clean:
        raise InvalidSilence(field="matchers", problem="at least one label=value is needed")
    return clean


def create_silence(
    *,
    actor: Actor,
    matchers: Mapping[str, str],
    reason: str,
    ends_at: datetime | None = None,
    duration: timedelta | None = None,
    starts_at: datetime | None = None,
) -> Silence:
    """Mute the alerts whose labels match every matcher, from now (or `starts_at`) until
    `ends_at` (or for `duration`); who and why are required. It ends by itself."""
    _operator(actor, "silence.create", "silence", "")
    now = timezone.now()
    try:
        clean = _clean_matchers(matchers)
        start = starts_at or now
        end = ends_at or (start + duration if duration else None)
        if end is None:
            raise InvalidSilence(field="ends_at", problem="say until when, or for how long")
        if end <= max(start, now):
            raise InvalidSilence(field="ends_at", problem="must be in the future")
        if end - start > MAX_SILENCE:
            raise InvalidSilence(field="ends_at", problem="a silence lasts at most 30 days")
        why = (reason or "").strip()[:MAX_NOTE]
        if not why:
            raise InvalidSilence(field="reason", problem="say why the alerts are muted")
    except InvalidSilence as exc:
        raise _refuse(actor, "silence.create", exc, "silence", "") from None
    with transaction.atomic():
        silence = Silence.objects.create(
            matchers=clean, starts_at=start, ends_at=end, created_by=actor.id, reason=why
        )
        audit.record(
            actor,
            "silence.create",
            result="succeeded",
            target_type="silence",
            target_id=str(silence.pk),
            reason=why,
            details={"matchers": clean, "starts_at": start.isoformat(), "ends_at": end.isoformat()},
        )
    return silence


def expire_silence(silence_id: int | str, *, actor: Actor) -> Silence:
    """End a silence now (it would also end by itself at its `ends_at`)."""
    try:
        silence = Silence.objects.get(pk=int(silence_id))
    except (ValueError, TypeError, Silence.DoesNotExist):
        raise SilenceNotFound(silence_id=str(silence_id)) from None
    _operator(actor, "silence.expire", "silence", str(silence.pk))
    now = timezone.now()
    with transaction.atomic():
        ended = Silence.objects.filter(
            pk=silence.pk, expired_at__isnull=True, ends_at__gt=now
        ).update(expired_at=now, expired_by=actor.id)
        if not ended:
            raise _refuse(actor, "silence.expire", SilenceOver(), "silence", str(silence.pk))
        audit.record(
            actor,
            "silence.expire",
            result="succeeded",
            target_type="silence",
            target_id=str(silence.pk),
        )
    silence.refresh_from_db()
    return silence


def silence_state(silence: Silence, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if silence.expired_at is not None or silence.ends_at <= now:
        return "expired"
    if silence.starts_at > now:
        return "pending"
    return "active"
