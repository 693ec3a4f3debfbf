"""Tickets linked to sagas, and the domain events sagas emit.

A saga's tickets are the one its execution input names (`Saga.ticket`, synced) and any
linked since by a person or by the ticketing system (`SagaTicket`). Search and the API find
sagas by any of them. Every saga event carries the saga's tickets in `data.tickets`, so the
ServiceNow preset can add a work note to each incident without asking this app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from opsconsole import events
from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor

from .errors import InvalidTicket, NotAnOperator
from .models import Saga, SagaStatus, SagaTicket

TICKET_RE = re.compile(r"^[A-Za-z0-9._:/#-]{1,64}$")
LINKING_ROLES = ("operator", "admin")
# Statuses whose arrival the sync announces, and the event each becomes.
STATUS_EVENTS = {
    SagaStatus.FAILED: "saga.failed",
    SagaStatus.TIMED_OUT: "saga.failed",
    SagaStatus.COMPENSATED: "saga.compensated",
    SagaStatus.NEEDS_REVIEW: "saga.needs_review",
}
# A saga the sync sees for the first time already failed is announced only if it stopped
# this recently: the first sync of an old account must not replay months of failures.
NEW_ROW_WINDOW = timedelta(minutes=15)


def tickets_of(saga: Saga) -> list[str]:
    """Every ticket of the saga: the execution input's first, then linked ones by age."""
    numbers = [saga.ticket] if saga.ticket else []
    for number in saga.linked_tickets.order_by("added_at", "id").values_list("number", flat=True):
        if number not in numbers:
            numbers.append(number)
    return numbers


def sagas_for_ticket(number: str) -> QuerySet[Saga]:
    """The sagas a ticket names, by the execution input or by a link."""
    number = number.strip()
    return Saga.objects.filter(
        Q(ticket=number) | Q(pk__in=SagaTicket.objects.filter(number=number).values("saga_id"))
    )


def _case_url(saga: Saga) -> str:
    return saga.get_absolute_url()


def saga_target(saga: Saga) -> events.Target:
    return events.Target(
        type="saga", id=str(saga.pk), label=f"{saga.kind} {saga.business_key}", url=_case_url(saga)
    )


def emit_saga_event(
    type: str, saga: Saga, actor: Actor | None = None, data: Mapping[str, Any] | None = None
) -> events.DomainEvent:
    """Emit a saga event with what every saga event carries (status, tickets, the execution);
    for the actions that touch a saga (redrive, restart, stop, resolve...)."""
    return events.emit(
        type,
        target=saga_target(saga),
        actor=actor,
        correlation_id=saga.correlation_id,
        data={
            "kind": saga.kind,
            "business_key": saga.business_key,
            "status": saga.status,
            "execution_arn": saga.execution_arn,
            "tickets": tickets_of(saga),
            **(data or {}),
        },
    )


def link_ticket(saga: Saga, number: str, *, actor: Actor, source: str) -> tuple[SagaTicket, bool]:
    """Link a ticket to a saga (idempotent: linking it again changes nothing); returns the
    link and whether it is new. Operators and admins; audited; emits saga.ticket_linked."""
    number = (number or "").strip()
    details = {"number": number[:64], "source": source}
    refusal: Exception | None = None
    if actor.role not in LINKING_ROLES:
        refusal = NotAnOperator(role=actor.role)
    elif not TICKET_RE.match(number):
        refusal = InvalidTicket(number=number[:80], field="number")
    if refusal is not None:
        audit.record(
            actor,
            "saga.link_ticket",
            result="refused",
            target_type="saga",
            target_id=str(saga.pk),
            correlation_id=saga.correlation_id,
            ticket=number[:64],
            error=getattr(refusal, "code", "refused"),
            details=details,
        )
        raise refusal
    with audit.attempt(
        actor,
        "saga.link_ticket",
        target_type="saga",
        target_id=str(saga.pk),
        correlation_id=saga.correlation_id,
        ticket=number,
        details=details,
    ) as a:
        existing = SagaTicket.objects.filter(saga=saga, number=number).first()
        if existing is not None or saga.ticket == number:
            a.succeeded(created=False)
            return existing or SagaTicket(saga=saga, number=number, source="input"), False
        try:
            with transaction.atomic():
                link = SagaTicket.objects.create(
                    saga=saga, number=number, source=source, added_by=actor.id
                )
                emit_saga_event("saga.ticket_linked", saga, actor, {"ticket": number})
        except IntegrityError:
            # Linked by somebody else a moment ago: the same outcome.
            a.succeeded(created=False)
            return SagaTicket.objects.get(saga=saga, number=number), False
        a.succeeded(created=True)
    return link, True


# --- the sync: announcing sagas that reached a failed, compensated or review status ------


def emit_status_changes(before: Mapping[str, str], rows: Iterable[Saga]) -> int:
    """After an upsert, inside its transaction: one event per saga whose status changed into
    one that STATUS_EVENTS announces. Returns how many were emitted."""
    changed = []
    cutoff = timezone.now() - NEW_ROW_WINDOW
    for row in rows:
        event_type = STATUS_EVENTS.get(row.status)  # type: ignore[call-overload]
        if event_type is None:
            continue
        old = before.get(row.execution_arn)
        if old == row.status:
            continue
        if old is None and not (row.stopped_at and row.stopped_at >= cutoff):
            continue
        changed.append((row.execution_arn, event_type, old))
    if not changed:
        return 0
    stored = Saga.objects.in_bulk([arn for arn, _, _ in changed], field_name="execution_arn")
    for arn, event_type, old in changed:
        saga = stored.get(arn)
        if saga is not None:
            emit_saga_event(
                event_type,
                saga,
                None,
                {"previous_status": old or "", "error": saga.last_error, "step": saga.current_step},
            )
    return len(changed)
