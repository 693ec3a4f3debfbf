"""The sweep: finish sends that were lost, link requests to their sagas once synced, and
retire open requests whose step no longer waits (expired, or answered elsewhere)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.aws import stepfunctions
from opsconsole.aws.errors import AwsError
from opsconsole.registry import Registry, get_registry
from sagas.models import ACTIVE_STATUSES, Saga, SagaStatus

from ..models import OPEN_STATUSES, ApprovalRequest, ApprovalStatus
from . import decisions
from .common import env_for, get_request, sagas_by_arn, waiting_saga

logger = logging.getLogger(__name__)

# A send that started longer ago than this is presumed lost (crash, killed worker). It is
# above the worst case of one gateway call (connect + read timeouts times attempts).
SEND_RETRY_AFTER = timedelta(seconds=60)
# How often the sweep may ask AWS about one request, and how many it asks about per run.
CHECK_EVERY = timedelta(seconds=60)
CHECK_LIMIT = 25
# Past its deadline by this much, a request is checked against AWS even if its saga looks
# active (the read model may lag).
DEADLINE_GRACE = timedelta(minutes=5)


@dataclass
class SweepResult:
    resent: int = 0
    linked: int = 0
    expired: int = 0
    closed: int = 0


def sweep_approval_requests() -> SweepResult:
    """Finish lost sends, link sagas, and retire requests whose step no longer waits."""
    result = SweepResult()
    result.resent = retry_pending_sends()
    result.linked = link_sagas()
    expired, closed = retire_finished()
    result.expired, result.closed = expired, closed
    return result


def retry_pending_sends(limit: int = 50) -> int:
    """Send decisions stuck in `sending` (AWS was unavailable, or the sender died)."""
    now = timezone.now()
    stuck = list(
        ApprovalRequest.objects.filter(
            status=ApprovalStatus.SENDING, send_started_at__lt=now - SEND_RETRY_AFTER
        )
        .order_by("send_started_at")
        .values_list("pk", "send_started_at")[:limit]
    )
    done = 0
    for pk, started in stuck:
        # Whoever moves send_started_at owns this attempt; a parallel sweep skips it.
        won = ApprovalRequest.objects.filter(
            pk=pk, status=ApprovalStatus.SENDING, send_started_at=started
        ).update(send_started_at=timezone.now(), send_attempts=F("send_attempts") + 1)
        if not won:
            continue
        req = get_request(pk)
        with audit.attempt(
            Actor.system("approvals"),
            "approval.send_retry",
            target_type="approval",
            target_id=str(pk),
            correlation_id=req.correlation_id,
            details={"decision": req.decision, "decided_by": req.decided_by},
        ) as a:
            outcome = decisions.deliver(req)
            if outcome.outcome == "pending_send":
                a.failed(outcome.request.send_error, outcome=outcome.outcome)
            else:
                a.succeeded(outcome=outcome.outcome)
        done += 1
    return done


def link_sagas() -> int:
    """Attach requests to their saga once the read model has synced it: by execution ARN,
    or, for a message that carried only its business key, the saga of that kind and key
    that was waiting for it (whose ARN, correlation id and initiator the request takes)."""
    unlinked = list(
        ApprovalRequest.objects.filter(saga__isnull=True)
        .filter(status__in=(*OPEN_STATUSES, ApprovalStatus.SENDING))
        .values_list(
            "pk",
            "execution_arn",
            "requested_by",
            "kind",
            "business_key",
            "requested_at",
            "correlation_id",
        )[:500]
    )
    sagas = sagas_by_arn(row[1] for row in unlinked)
    linked = 0
    for pk, arn, requested_by, kind, business_key, requested_at, correlation_id in unlinked:
        saga = sagas.get(arn) if arn else waiting_saga(kind, business_key, requested_at)
        if saga is None:
            continue
        updates: dict[str, Any] = {"saga": saga}
        if not arn:
            updates["execution_arn"] = saga.execution_arn
        if not correlation_id and saga.correlation_id:
            updates["correlation_id"] = saga.correlation_id
        if not requested_by and saga.initiator_id:
            updates["requested_by"] = saga.initiator_id
            updates["requested_by_type"] = saga.initiator_type
        linked += ApprovalRequest.objects.filter(pk=pk, saga__isnull=True).update(**updates)
    return linked


def retire_finished() -> tuple[int, int]:
    """Expire or close open requests whose execution is no longer waiting for them."""
    now = timezone.now()
    registry = get_registry()
    expired = closed = 0
    open_qs = ApprovalRequest.objects.filter(status__in=OPEN_STATUSES)

    # 1. The read model says so: no AWS call.
    for req in open_qs.filter(saga__isnull=False).select_related("saga").iterator():
        saga = req.saga
        if saga is None:
            continue
        verdict = _verdict_from_saga(req, saga, registry)
        if verdict:
            e, c = _retire(req, *verdict)
            expired, closed = expired + e, closed + c

    # 2. Ask AWS about the few the read model cannot vouch for, a bounded number per run.
    candidates = (
        open_qs.filter(Q(saga__isnull=True) | Q(deadline__lt=now - DEADLINE_GRACE))
        .exclude(execution_arn="")
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lt=now - CHECK_EVERY))
        .order_by(F("checked_at").asc(nulls_first=True), "id")[:CHECK_LIMIT]
    )
    for req in list(candidates):
        env = env_for(registry, req.kind)
        try:
            execution = stepfunctions.describe_execution(req.execution_arn, env)
        except AwsError as exc:
            logger.warning("sweep could not describe %s: %s", req.execution_arn, exc)
            break  # AWS is unwell; the next sweep tries again
        ApprovalRequest.objects.filter(pk=req.pk).update(checked_at=now)
        if execution is None:
            verdict = (ApprovalStatus.CLOSED, "The execution no longer exists in AWS.")
        elif execution.status == "RUNNING":
            continue
        elif decisions.wait_fate(req.execution_arn, env) == "TaskTimedOut":
            verdict = (
                ApprovalStatus.EXPIRED,
                f"The approval step timed out; the execution is {execution.status}.",
            )
        else:
            verdict = _verdict_from_status(req, execution.status, now)
        e, c = _retire(req, *verdict)
        expired, closed = expired + e, closed + c
    return expired, closed


_SAGA_TERMINAL_TO_SFN: dict[str, str] = {
    SagaStatus.TIMED_OUT: "TIMED_OUT",
    SagaStatus.ABORTED: "ABORTED",
    SagaStatus.FAILED: "FAILED",
    SagaStatus.SUCCEEDED: "SUCCEEDED",
    SagaStatus.COMPENSATED: "SUCCEEDED",
    SagaStatus.COMPENSATION_FAILED: "FAILED",
}


def _verdict_from_saga(
    req: ApprovalRequest, saga: Saga, registry: Registry
) -> tuple[str, str] | None:
    now = timezone.now()
    if saga.status not in ACTIVE_STATUSES:
        label = SagaStatus(saga.status).label if saga.status in SagaStatus.values else saga.status
        sfn_status = saga.sfn_status or _SAGA_TERMINAL_TO_SFN.get(saga.status, "")
        return _ended(
            req,
            sfn_status,
            now,
            expired=f"The saga timed out ({label}) before a decision.",
            closed=f"The saga ended ({label}) while this step waited: it was stopped or "
            "answered elsewhere.",
        )
    kind = registry.kind(req.kind)
    moved_on = (
        saga.status == SagaStatus.RUNNING
        and saga.current_step
        and kind is not None
        and saga.current_step not in kind.approval_steps
        and saga.step_entered_at is not None
        and saga.step_entered_at > req.requested_at + timedelta(seconds=5)
    )
    if moved_on:
        return (
            ApprovalStatus.CLOSED,
            f"The saga moved on to {saga.current_step}: the step was answered elsewhere.",
        )
    return None


def _verdict_from_status(req: ApprovalRequest, status: str, now: datetime) -> tuple[str, str]:
    return _ended(
        req,
        status,
        now,
        expired=f"The execution is {status}: the step timed out.",
        closed=f"The execution is {status}: the step is no longer waiting (stopped or "
        "answered elsewhere).",
    )


def _ended(
    req: ApprovalRequest, sfn_status: str, now: datetime, *, expired: str, closed: str
) -> tuple[str, str]:
    """An ended execution's request expired if it timed out or outlived its deadline, else
    it closed (stopped, or answered outside the console)."""
    if sfn_status == "TIMED_OUT" or (req.deadline and req.deadline <= now):
        return ApprovalStatus.EXPIRED, expired
    return ApprovalStatus.CLOSED, closed


def _retire(req: ApprovalRequest, status: str, reason: str) -> tuple[int, int]:
    won = ApprovalRequest.objects.filter(pk=req.pk, status__in=OPEN_STATUSES).update(
        status=status,
        status_reason=reason,
        claimed_by="",
        claimed_until=None,
        updated_at=timezone.now(),
    )
    if not won:
        return 0, 0
    audit.record(
        Actor.system("approvals"),
        f"approval.{status}",
        result="succeeded",
        target_type="approval",
        target_id=str(req.pk),
        reason=reason,
        correlation_id=req.correlation_id,
        details={"kind": req.kind, "business_key": req.business_key},
    )
    return (1, 0) if status == ApprovalStatus.EXPIRED else (0, 1)
