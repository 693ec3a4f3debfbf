"""What the approval actions share: finding a request, who may act, and auditing a refusal."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.identity.roles import ADMIN, APPROVER
from opsconsole.registry import Registry, get_registry
from sagas.models import Saga, SagaStatus

from ..models import ApprovalRequest
from .errors import ApprovalError, NotAnApprover, RequestNotFound, facts

if TYPE_CHECKING:
    from typing_extensions import Unpack

APPROVER_ROLES = (APPROVER, ADMIN)
MAX_TEXT = 2000
MAX_TICKET = 64


def identities_for(request: Any) -> frozenset[str]:
    """Every name the person behind a request goes by (to recognise the initiator)."""
    names = set()
    user = getattr(request, "user", None)
    for value in (getattr(user, "email", ""), getattr(user, "username", "")):
        if value:
            names.add(str(value).strip().lower())
    return frozenset(names)


def is_initiator(req: ApprovalRequest, actor: Actor, identities: Iterable[str]) -> bool:
    initiator = (req.requested_by or (req.saga.initiator_id if req.saga else "")).strip().lower()
    if not initiator:
        return False
    names = {n.strip().lower() for n in identities if n} | {actor.id.strip().lower()}
    return initiator in names


def not_an_approver(actor: Actor) -> NotAnApprover | None:
    if actor.role in APPROVER_ROLES:
        return None
    return NotAnApprover(role=actor.role)


def get_request(request_id: int | str) -> ApprovalRequest:
    try:
        pk = int(request_id)
    except (TypeError, ValueError):
        raise RequestNotFound(request_id=str(request_id)) from None
    req = ApprovalRequest.objects.select_related("saga").filter(pk=pk).first()
    if req is None:
        raise RequestNotFound(request_id=pk)
    return req


def env_for(registry: Registry, kind_key: str) -> AwsEnvironment | None:
    kind = registry.kind(kind_key)
    return registry.env_for(kind) if kind else None


def sagas_by_arn(arns: Iterable[str]) -> dict[str, Saga]:
    wanted = {a for a in arns if a}
    if not wanted:
        return {}
    return {s.execution_arn: s for s in Saga.objects.filter(execution_arn__in=wanted)}


# Clocks of SQS and Step Functions against each other: a message may carry a sent time a
# little before its execution's recorded start.
_CLOCK_SLACK = timedelta(seconds=5)


def waiting_saga(kind: str, business_key: str, requested_at: datetime) -> Saga | None:
    """The saga a message that names only its business key came from: of that kind and
    key, running when the message was sent (never one that ended before it), preferring
    one that waits at an approval step, then the newest. None until the sync has it."""
    registry = get_registry()
    saga_kind = registry.kind(kind)
    candidates = list(
        Saga.objects.filter(
            kind=kind, business_key=business_key, started_at__lte=requested_at + _CLOCK_SLACK
        )
        .filter(Q(stopped_at__isnull=True) | Q(stopped_at__gte=requested_at - _CLOCK_SLACK))
        .order_by("-started_at", "-id")[:10]
    )
    approval_steps = saga_kind.approval_steps if saga_kind else frozenset()

    def waits(saga: Saga) -> bool:
        return saga.status == SagaStatus.WAITING or (
            saga.is_active and saga.current_step in approval_steps
        )

    return next((s for s in candidates if waits(s)), candidates[0] if candidates else None)


def refuse(
    actor: Actor,
    action: str,
    error: ApprovalError,
    *,
    target_id: str,
    **context: Unpack[audit.Context],
) -> ApprovalError:
    """Audit a refusal known before anything changed: one record, then raise what it returns.

    A refusal found only while changing state (a race lost) is instead the outcome of the
    attempt already recorded; either way one refused record per refused attempt."""
    audit.record(
        actor,
        action,
        result="refused",
        target_type="approval",
        target_id=target_id[:512],
        correlation_id=context.get("correlation_id", ""),
        ticket=context.get("ticket", "")[:MAX_TICKET],
        reason=context.get("reason", "")[:MAX_TEXT],
        error=error.code,
        details={**(context.get("details") or {}), **facts(error)},
    )
    return error


@contextmanager
def audited(
    req: ApprovalRequest,
    actor: Actor,
    action: str,
    refusal: ApprovalError | None,
    *,
    ticket: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> Iterator[audit.Attempt]:
    """One action on one request: refused up front (one record, raised), else an attempt."""
    about = audit.Context(
        correlation_id=req.correlation_id, ticket=ticket, reason=reason, details=details
    )
    if refusal is not None:
        raise refuse(actor, action, refusal, target_id=str(req.pk), **about)
    with audit.attempt(actor, action, target_type="approval", target_id=str(req.pk), **about) as a:
        yield a
