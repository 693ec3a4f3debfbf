"""The approval events: requested (a request was collected) and decided (a final decision
was stored). Emitted inside the transaction that stores the change."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from opsconsole import events
from opsconsole.audit.log import Actor

from .models import ApprovalRequest


def _target(req: ApprovalRequest) -> events.Target:
    try:
        url = reverse("approvals:detail", args=[req.pk])
    except NoReverseMatch:
        url = ""
    return events.Target(
        type="approval", id=str(req.pk), label=f"{req.kind} {req.business_key}", url=url
    )


def _data(req: ApprovalRequest) -> dict[str, object]:
    return {
        "kind": req.kind,
        "business_key": req.business_key,
        "summary": req.summary,
        "execution_arn": req.execution_arn,
        "saga_id": req.saga_id,
        "tickets": [req.saga.ticket] if req.saga_id and req.saga and req.saga.ticket else [],
    }


def requested(req: ApprovalRequest) -> None:
    events.emit(
        "approval.requested",
        target=_target(req),
        actor=Actor.system("approvals"),
        correlation_id=req.correlation_id,
        data={
            **_data(req),
            "amount": str(req.amount) if req.amount is not None else None,
            "currency": req.currency,
            "deadline": req.deadline.isoformat() if req.deadline else None,
        },
    )


def decided(req: ApprovalRequest, actor: Actor) -> None:
    events.emit(
        "approval.decided",
        target=_target(req),
        actor=actor,
        correlation_id=req.correlation_id,
        data={
            **_data(req),
            "decision": req.decision,
            "decided_by": req.decided_by,
            "reason": req.reason,
            "ticket": req.ticket,
            "approvers": [a for a in (req.first_approved_by, req.decided_by) if a],
        },
    )
