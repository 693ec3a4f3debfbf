"""Deciding a request exactly once, delivering the decision to AWS, and replays.

The database transition comes first (a conditional UPDATE that only one caller can win), the
AWS call after, and its outcome is recorded. A crash between the two leaves the request in
`sending`; the sweep finishes it later. AWS refuses a second answer to a token, so even a
retry that races a slow first call cannot resume a step twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, TypedDict, Unpack

from django.db import transaction
from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.aws import stepfunctions
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.aws.errors import AwsError, TaskTokenExpired, TaskTokenInvalid
from opsconsole.registry import get_registry

from .. import domain_events, messages
from ..crypto import TokenDecryptError, decrypt_token
from ..models import (
    OPEN_STATUSES,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    Decision,
)
from .common import (
    MAX_TEXT,
    MAX_TICKET,
    audited,
    env_for,
    get_request,
    is_initiator,
    not_an_approver,
)
from .errors import (
    AlreadyDecided,
    ApprovalError,
    InvalidDecision,
    SameApprover,
    SelfApproval,
    facts,
)

logger = logging.getLogger(__name__)

REJECTED_ERROR = "Rejected"
WAIT_RESOURCE = "sendMessage.waitForTaskToken"


class Words(TypedDict, total=False):
    """What a person adds to approve or reject: why, a note, and the ticket it belongs to."""

    reason: str
    comment: str
    ticket: str


@dataclass(frozen=True)
class _Submitted:
    """A decision as submitted, trimmed: the words its `ApprovalDecision` row keeps."""

    decision: str
    reason: str
    comment: str
    ticket: str
    idempotency_key: str


@dataclass(frozen=True)
class DecisionResult:
    request: ApprovalRequest
    # approved | rejected | first_approval | pending_send | expired | closed
    outcome: str
    message: str
    replayed: bool = False


def decide(
    request_id: int | str,
    *,
    actor: Actor,
    decision: str,
    idempotency_key: str = "",
    identities: Iterable[str] = (),
    **given: Unpack[Words],
) -> DecisionResult:
    """Approve or reject once: the DB transition first, then SendTaskSuccess/Failure."""
    req = get_request(request_id)
    words = _Submitted(
        decision,
        given.get("reason", "").strip(),
        given.get("comment", "").strip(),
        given.get("ticket", "").strip(),
        idempotency_key.strip()[:128],
    )
    # One action name per attempted decision, whichever door (page, API, bulk) it came
    # through, and whether it is refused up front, refused late, or carried out.
    action = f"approval.{decision if decision in Decision.values else 'decide'}"
    details = {
        "kind": req.kind,
        "business_key": req.business_key,
        "comment": words.comment[:MAX_TEXT],
    }
    refusal = _refusal(req, actor, words, identities)
    with audited(
        req, actor, action, refusal, ticket=words.ticket, reason=words.reason, details=details
    ) as a:
        try:
            result = _decide(req, actor, words)
        except ApprovalError as exc:
            a.refused(exc.code, **facts(exc))
            raise
        if result.outcome in ("expired", "closed", "pending_send"):
            a.failed(result.message, outcome=result.outcome)
        else:
            a.succeeded(outcome=result.outcome, replayed=result.replayed)
    return result


def _refusal(
    req: ApprovalRequest, actor: Actor, words: _Submitted, identities: Iterable[str]
) -> ApprovalError | None:
    """Why the decision is refused before anything changes, or None to go ahead."""
    refusal = not_an_approver(actor) or _invalid(words)
    if refusal is not None:
        return refusal
    key = words.idempotency_key
    if (
        key
        and ApprovalDecision.objects.filter(
            request=req, decided_by=actor.id, idempotency_key=key
        ).exists()
    ):
        return None  # a retry of a decision already made: it gets the first answer again
    if words.decision == Decision.APPROVE and is_initiator(req, actor, identities):
        return SelfApproval(request_id=req.pk, requested_by=req.requested_by)
    return _beaten(req, actor, words.decision)


def _invalid(words: _Submitted) -> InvalidDecision | None:
    decision, reason, comment, ticket = words.decision, words.reason, words.comment, words.ticket
    if decision not in Decision.values:
        return InvalidDecision(problem="decision", field="decision")
    if decision == Decision.REJECT and not reason:
        return InvalidDecision(problem="reason_required", field="reason")
    if len(reason) > MAX_TEXT or len(comment) > MAX_TEXT:
        field = "reason" if len(reason) > MAX_TEXT else "comment"
        return InvalidDecision(problem="too_long", field=field, limit=MAX_TEXT)
    if len(ticket) > MAX_TICKET:
        return InvalidDecision(problem="ticket_too_long", field="ticket", limit=MAX_TICKET)
    return None


def _beaten(req: ApprovalRequest, actor: Actor, decision: str) -> ApprovalError | None:
    """Somebody got there first: a decision made, or the actor's own first approval."""
    if (
        req.status == ApprovalStatus.PARTIALLY_APPROVED
        and decision == Decision.APPROVE
        and req.first_approved_by.lower() == actor.id.lower()
    ):
        return SameApprover(request_id=req.pk, first_approved_by=req.first_approved_by)
    if not req.is_open:
        return AlreadyDecided.of(req)
    return None


def _decide(req: ApprovalRequest, actor: Actor, words: _Submitted) -> DecisionResult:
    decision = words.decision
    replay = _replay(req, actor, words.idempotency_key)
    if replay:
        return replay
    kind = get_registry().kind(req.kind)
    four_eyes = bool(kind and kind.four_eyes)

    # Two rounds at most: a first approval landing under us turns ours into the second.
    for _ in range(2):
        now = timezone.now()
        final = {
            "status": ApprovalStatus.SENDING,
            "decision": decision,
            "decided_by": actor.id,
            "decided_at": now,
            "reason": words.reason,
            "comment": words.comment,
            "ticket": words.ticket,
            "send_started_at": now,
            "send_attempts": 1,
            "send_error": "",
            "claimed_by": "",
            "claimed_until": None,
            "updated_at": now,
        }
        first = False
        with transaction.atomic():
            base = ApprovalRequest.objects.filter(pk=req.pk)
            if decision == Decision.REJECT:
                won = base.filter(status__in=OPEN_STATUSES).update(**final)
            elif four_eyes:
                won = base.filter(status=ApprovalStatus.PENDING).update(
                    status=ApprovalStatus.PARTIALLY_APPROVED,
                    first_approved_by=actor.id,
                    first_approved_at=now,
                    updated_at=now,
                )
                first = bool(won)
                if not won:
                    won = (
                        base.filter(status=ApprovalStatus.PARTIALLY_APPROVED)
                        .exclude(first_approved_by__iexact=actor.id)
                        .update(**final)
                    )
            else:
                won = base.filter(status=ApprovalStatus.PENDING).update(**final)
            if won:
                ApprovalDecision.objects.create(
                    request=req, decided_by=actor.id, at=now, **asdict(words)
                )
                if not first:
                    _announce_decision(req, actor)
        req.refresh_from_db()
        if won and first:
            return DecisionResult(
                req,
                "first_approval",
                "First approval recorded. A second, different approver must approve "
                "before the step is released.",
            )
        if won:
            return deliver(req)
        replay = _replay(req, actor, words.idempotency_key)
        if replay:
            return replay
        beaten = _beaten(req, actor, decision)
        if beaten is not None:
            raise beaten
    raise AlreadyDecided.of(req)


def _announce_decision(req: ApprovalRequest, actor: Actor) -> None:
    """approval.decided, in the transaction that stored the final decision."""
    req.refresh_from_db()
    domain_events.decided(req, actor)


def _replay(req: ApprovalRequest, actor: Actor, key: str) -> DecisionResult | None:
    """The same client retrying the same decision gets the first answer again."""
    if not key:
        return None
    earlier = ApprovalDecision.objects.filter(
        request=req, decided_by=actor.id, idempotency_key=key
    ).first()
    if earlier is None:
        return None
    req.refresh_from_db()
    outcome, message = _outcome_of(req)
    return DecisionResult(req, outcome, message, replayed=True)


def _outcome_of(req: ApprovalRequest) -> tuple[str, str]:
    if req.status == ApprovalStatus.PARTIALLY_APPROVED:
        return "first_approval", "First approval recorded; waiting for a second approver."
    if req.status == ApprovalStatus.SENDING:
        return "pending_send", pending_send_message(req)
    if req.status == ApprovalStatus.APPROVED:
        return "approved", f"Approved: the {req.kind} saga for {req.business_key} continues."
    if req.status == ApprovalStatus.REJECTED:
        return "rejected", f"Rejected: the saga for {req.business_key} was told why."
    if req.status in (ApprovalStatus.EXPIRED, ApprovalStatus.CLOSED):
        return str(req.status), messages.already_decided(AlreadyDecided.of(req).params)
    return "pending", "Waiting for approval."


def pending_send_message(req: ApprovalRequest) -> str:
    """What the approver reads while a stored decision waits for AWS."""
    if req.send_error:
        return (
            "Your decision is saved, but AWS did not take it yet "
            f"({req.send_error}). It is retried automatically; nothing else to do."
        )
    return "Your decision is being sent to AWS."


def approve_output(req: ApprovalRequest) -> dict[str, Any]:
    """What the resumed step receives: the decision, who made it, and their note."""
    output: dict[str, Any] = {
        "approved": True,
        "approver": req.decided_by,
        "comment": req.comment,
        "ticket": req.ticket,
    }
    if req.first_approved_by:
        output["approvers"] = [req.first_approved_by, req.decided_by]
    return output


def deliver(req: ApprovalRequest) -> DecisionResult:
    """Send the stored decision to AWS and record what AWS said."""
    env = env_for(get_registry(), req.kind)
    try:
        token = decrypt_token(req.token_encrypted)
    except TokenDecryptError as exc:
        return _keep_sending(req, str(exc))
    try:
        if req.decision == Decision.APPROVE:
            stepfunctions.send_task_success(token, approve_output(req), env)
        else:
            stepfunctions.send_task_failure(token, REJECTED_ERROR, req.reason, env)
    except TaskTokenExpired:
        return _finish(
            req,
            ApprovalStatus.EXPIRED,
            "The approval step timed out before the decision reached AWS (TaskTimedOut).",
        )
    except TaskTokenInvalid as exc:
        return _dead_token(req, env, exc)
    except AwsError as exc:
        # AWS error messages can echo parameters; the token must not reach the page.
        return _keep_sending(req, f"{exc.code}: {exc}".replace(token, "[task token]"))
    except Exception as exc:
        # Anything else (a bug, an emulator hiccup) after the decision is stored: keep it
        # to send, and let the sweep retry, rather than answer the approver with a 500.
        logger.error("sending the decision of approval %s failed: %s", req.pk, type(exc).__name__)
        return _keep_sending(req, f"unexpected {type(exc).__name__}; will retry")
    now = timezone.now()
    done = ApprovalStatus.APPROVED if req.decision == Decision.APPROVE else ApprovalStatus.REJECTED
    ApprovalRequest.objects.filter(pk=req.pk, status=ApprovalStatus.SENDING).update(
        status=done, sent_at=now, send_error="", updated_at=now
    )
    req.refresh_from_db()
    return DecisionResult(req, *_outcome_of(req))


def _keep_sending(req: ApprovalRequest, error: str) -> DecisionResult:
    ApprovalRequest.objects.filter(pk=req.pk, status=ApprovalStatus.SENDING).update(
        send_error=error[:1000], updated_at=timezone.now()
    )
    req.refresh_from_db()
    return DecisionResult(req, "pending_send", pending_send_message(req))


def _finish(req: ApprovalRequest, status: str, reason: str) -> DecisionResult:
    now = timezone.now()
    ApprovalRequest.objects.filter(pk=req.pk, status=ApprovalStatus.SENDING).update(
        status=status, status_reason=reason, send_error="", updated_at=now
    )
    req.refresh_from_db()
    return DecisionResult(req, *_outcome_of(req))


def _dead_token(req: ApprovalRequest, env: AwsEnvironment | None, exc: AwsError) -> DecisionResult:
    """AWS no longer knows the token: find out why from the execution (rare, so one call)."""
    fate = wait_fate(req.execution_arn, env)
    if fate in ("TaskSucceeded", "TaskFailed") and req.send_attempts > 1:
        # An earlier attempt of ours landed before a crash; AWS has our answer.
        expected = "TaskSucceeded" if req.decision == Decision.APPROVE else "TaskFailed"
        if fate == expected:
            now = timezone.now()
            done = (
                ApprovalStatus.APPROVED
                if req.decision == Decision.APPROVE
                else ApprovalStatus.REJECTED
            )
            ApprovalRequest.objects.filter(pk=req.pk, status=ApprovalStatus.SENDING).update(
                status=done,
                sent_at=now,
                send_error="",
                status_reason="AWS had already received this decision from an earlier attempt.",
                updated_at=now,
            )
            req.refresh_from_db()
            return DecisionResult(req, *_outcome_of(req))
    if fate == "TaskTimedOut" or (req.deadline and req.deadline <= timezone.now()):
        return _finish(
            req,
            ApprovalStatus.EXPIRED,
            "The approval step timed out before the decision reached AWS.",
        )
    if fate in ("TaskSucceeded", "TaskFailed"):
        return _finish(
            req,
            ApprovalStatus.CLOSED,
            "The step was already answered outside the console; your decision was not sent.",
        )
    return _finish(
        req,
        ApprovalStatus.CLOSED,
        f"AWS no longer accepts this task token ({exc.code}): the execution was stopped "
        "or the step answered elsewhere.",
    )


def wait_fate(execution_arn: str, env: AwsEnvironment | None) -> str | None:
    """How the execution's last callback step ended, from its history (None if unknown)."""
    if not execution_arn:
        return None
    try:
        page = stepfunctions.get_history_page(execution_arn, env=env)
    except AwsError:
        return None
    for event in reversed(page.events):
        if event.type in ("TaskSucceeded", "TaskFailed", "TaskTimedOut") and (
            event.details.get("resource") == WAIT_RESOURCE
        ):
            return event.type
    return None
