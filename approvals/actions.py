"""Every state change of an approval request: collect, claim, decide (exactly once), sweep.

Decisions follow one rule: the database transition comes first (a conditional UPDATE that
only one caller can win), the AWS call after, and its outcome is recorded. A crash between
the two leaves the request in `sending`; the sweep finishes it later. AWS refuses a second
answer to a token, so even a retry that races a slow first call cannot resume a step twice.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.aws import sqs, stepfunctions
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.aws.errors import AwsError, TaskTokenExpired, TaskTokenInvalid
from opsconsole.identity.roles import ADMIN, APPROVER
from opsconsole.registry import ApprovalQueue, Registry, get_registry, json_path_get
from sagas.models import ACTIVE_STATUSES, Saga, SagaStatus

from .crypto import TokenDecryptError, decrypt_token, encrypt_token, token_dedup_key
from .models import (
    OPEN_STATUSES,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    Decision,
)

logger = logging.getLogger(__name__)

CLAIM_DURATION = timedelta(minutes=15)
# A send that started longer ago than this is presumed lost (crash, killed worker). It is
# above the worst case of one gateway call (connect + read timeouts times attempts).
SEND_RETRY_AFTER = timedelta(seconds=60)
# How often the sweep may ask AWS about one request, and how many it asks about per run.
CHECK_EVERY = timedelta(seconds=60)
CHECK_LIMIT = 25
# Past its deadline by this much, a request is checked against AWS even if its saga looks
# active (the read model may lag).
DEADLINE_GRACE = timedelta(minutes=5)
MAX_MESSAGES_PER_QUEUE = 200
RECEIVE_VISIBILITY_SECONDS = 60
REJECTED_ERROR = "Rejected"
MAX_TEXT = 2000
MAX_TICKET = 64
WAIT_RESOURCE = "sendMessage.waitForTaskToken"
APPROVER_ROLES = (APPROVER, ADMIN)


# --- errors a person can act on --------------------------------------------------------


class ApprovalError(Exception):
    """A decision or claim that cannot be made; the message is shown as is."""

    http_status = 400
    code = "invalid"


class RequestNotFound(ApprovalError):
    http_status = 404
    code = "not_found"


class NotAnApprover(ApprovalError):
    http_status = 403
    code = "not_an_approver"


class SelfApproval(ApprovalError):
    http_status = 403
    code = "self_approval"


class SameApprover(ApprovalError):
    """Four eyes: the second approval must come from somebody else."""

    http_status = 403
    code = "same_approver"


class InvalidDecision(ApprovalError):
    http_status = 400
    code = "invalid_decision"


class MixedKinds(ApprovalError):
    http_status = 400
    code = "mixed_kinds"


class AlreadyDecided(ApprovalError):
    """Somebody (or AWS) got there first."""

    http_status = 409
    code = "already_decided"

    def __init__(self, request: ApprovalRequest) -> None:
        self.request = request
        self.status = request.status
        self.decided_by = request.decided_by
        self.decided_at = request.decided_at
        super().__init__(already_decided_message(request))


class ClaimedByOther(ApprovalError):
    http_status = 409
    code = "claimed"

    def __init__(self, request: ApprovalRequest) -> None:
        self.claimed_by = request.claimed_by
        self.claimed_until = request.claimed_until
        super().__init__(
            f"{request.claimed_by} is working on this request until "
            f"{format_time(request.claimed_until)}."
        )


def format_time(at: datetime | None) -> str:
    if at is None:
        return "an unknown time"
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S %Z")


def already_decided_message(request: ApprovalRequest) -> str:
    if request.status in (ApprovalStatus.EXPIRED, ApprovalStatus.CLOSED):
        label = "expired" if request.status == ApprovalStatus.EXPIRED else "closed"
        why = f": {request.status_reason}" if request.status_reason else "."
        return f"This request is {label}{why}"
    verb = {"approve": "Already approved", "reject": "Already rejected"}.get(
        request.decision, "Already decided"
    )
    return (
        f"{verb} by {request.decided_by or 'somebody else'} at {format_time(request.decided_at)}."
    )


# --- who is asking ---------------------------------------------------------------------


def identities_for(request: Any) -> frozenset[str]:
    """Every name the person behind a request goes by (to recognise the initiator)."""
    names = set()
    user = getattr(request, "user", None)
    for value in (getattr(user, "email", ""), getattr(user, "username", "")):
        if value:
            names.add(str(value).strip().lower())
    return frozenset(names)


def _is_initiator(req: ApprovalRequest, actor: Actor, identities: Iterable[str]) -> bool:
    initiator = (req.requested_by or (req.saga.initiator_id if req.saga else "")).strip().lower()
    if not initiator:
        return False
    names = {n.strip().lower() for n in identities if n} | {actor.id.strip().lower()}
    return initiator in names


def _require_approver(actor: Actor) -> None:
    if actor.role not in APPROVER_ROLES:
        raise NotAnApprover("Only approvers and admins may decide approval requests.")


# --- collecting requests from the callback queues --------------------------------------


@dataclass(frozen=True)
class ParsedMessage:
    token: str
    business_key: str
    execution_arn: str
    summary: str
    amount: Decimal | None
    currency: str
    threshold: Decimal | None
    correlation_id: str
    initiator_type: str
    initiator_id: str
    requested_at: datetime
    deadline: datetime | None


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def format_amount(value: Decimal | None, *, whole_if_round: bool = False) -> str:
    if value is None:
        return "?"
    if whole_if_round and value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def parse_message(
    queue: ApprovalQueue, body: str, *, sent_at: datetime | None, now: datetime
) -> ParsedMessage | None:
    """The request a queue message asks for, or None when it carries no task token."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    token = json_path_get(document, queue.token_path)
    if not isinstance(token, str) or not token.strip():
        return None
    execution_arn = (
        str(json_path_get(document, queue.execution_path) or "") if (queue.execution_path) else ""
    )
    key = json_path_get(document, queue.business_key_path)
    business_key = str(key) if key not in (None, "") else execution_arn.rsplit(":", 1)[-1] or "?"
    amount = _decimal(json_path_get(document, queue.amount_path)) if queue.amount_path else None
    currency = (
        str(json_path_get(document, queue.currency_path) or "") if (queue.currency_path) else ""
    )
    threshold = (
        _decimal(json_path_get(document, queue.threshold_path)) if queue.threshold_path else None
    )
    initiator = document.get("initiator")
    if isinstance(initiator, dict):
        initiator_type = str(initiator.get("type") or "")
        initiator_id = str(initiator.get("id") or "")
    else:
        initiator_type, initiator_id = "", str(initiator or "")
    requested_at = sent_at or now
    # The state's TimeoutSeconds (registry); a HeartbeatSeconds the message carries is
    # sooner, since the console does not heartbeat.
    seconds = [
        s
        for s in (
            queue.timeout_seconds,
            _positive_int(document.get("timeoutSeconds")),
            _positive_int(document.get("heartbeatSeconds")),
        )
        if s
    ]
    deadline = requested_at + timedelta(seconds=min(seconds)) if seconds else None
    summary = queue.summary_template.format_map(
        _Blank(
            business_key=business_key,
            amount=format_amount(amount),
            currency=currency or "?",
            threshold=format_amount(threshold, whole_if_round=True),
        )
    )
    return ParsedMessage(
        token=token,
        business_key=business_key[:200],
        execution_arn=execution_arn[:512],
        summary=summary[:500],
        amount=amount,
        currency=currency[:3],
        threshold=threshold,
        correlation_id=str(document.get("correlationId") or "")[:128],
        initiator_type=initiator_type[:32],
        initiator_id=initiator_id[:255],
        requested_at=requested_at,
        deadline=deadline,
    )


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


@dataclass
class CollectResult:
    received: int = 0
    created: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)


def _env(registry: Registry, kind_key: str) -> AwsEnvironment | None:
    kind = registry.kind(kind_key)
    return registry.env_for(kind) if kind else None


def collect_approval_requests(max_per_queue: int = MAX_MESSAGES_PER_QUEUE) -> CollectResult:
    """Drain every approval queue into ApprovalRequests; delete each message once stored."""
    registry = get_registry()
    result = CollectResult()
    for queue in registry.approval_queues:
        env = _env(registry, queue.kind)
        try:
            _collect_queue(queue, env, max_per_queue, result)
        except AwsError as exc:
            # One queue's trouble must not stop the others; the next run tries again.
            logger.warning("approval queue %s could not be drained: %s", queue.name, exc)
            result.errors.append(f"{queue.name}: {exc}")
    return result


def _collect_queue(
    queue: ApprovalQueue, env: AwsEnvironment | None, limit: int, result: CollectResult
) -> None:
    seen = 0
    while seen < limit:
        messages = sqs.receive_messages(
            queue.queue,
            max_messages=10,
            wait_seconds=0,
            visibility_timeout=RECEIVE_VISIBILITY_SECONDS,
            env=env,
        )
        if not messages:
            return
        seen += len(messages)
        result.received += len(messages)
        now = timezone.now()
        parsed = []
        for message in messages:
            p = parse_message(queue, message.body, sent_at=message.sent_at, now=now)
            if p is None:
                # Left in the queue: its redrive policy moves it to the DLQ, where an
                # operator sees it. Never log the body (it may hold a token).
                result.invalid += 1
                logger.warning(
                    "message %s on %s carries no task token at %s; left for the DLQ",
                    message.message_id,
                    queue.name,
                    queue.token_path,
                )
                continue
            parsed.append((message, p))
        sagas = _sagas_by_arn(p.execution_arn for _, p in parsed)
        for message, p in parsed:
            created = _store(queue, message.message_id, p, sagas.get(p.execution_arn))
            if created:
                result.created += 1
            else:
                result.duplicates += 1
            try:
                sqs.delete_message(queue.queue, message.receipt_handle, env=env)
            except AwsError as exc:
                # Stored already: the redelivered copy will be recognised and deleted.
                logger.warning("could not delete message %s: %s", message.message_id, exc)


def _sagas_by_arn(arns: Iterable[str]) -> dict[str, Saga]:
    wanted = {a for a in arns if a}
    if not wanted:
        return {}
    return {s.execution_arn: s for s in Saga.objects.filter(execution_arn__in=wanted)}


def _store(queue: ApprovalQueue, message_id: str, p: ParsedMessage, saga: Saga | None) -> bool:
    dedup = token_dedup_key(p.token)
    if ApprovalRequest.objects.filter(dedup_key=dedup).exists():
        return False
    requested_by = p.initiator_id or (saga.initiator_id if saga else "")
    try:
        with transaction.atomic():
            req = ApprovalRequest.objects.create(
                saga=saga,
                execution_arn=p.execution_arn,
                kind=queue.kind,
                queue_name=queue.name,
                business_key=p.business_key,
                summary=p.summary,
                amount=p.amount,
                currency=p.currency,
                threshold=p.threshold,
                correlation_id=p.correlation_id or (saga.correlation_id if saga else ""),
                requested_by_type=p.initiator_type or (saga.initiator_type if saga else ""),
                requested_by=requested_by,
                requested_at=p.requested_at,
                deadline=p.deadline,
                token_encrypted=encrypt_token(p.token),
                dedup_key=dedup,
                message_id=message_id[:128],
            )
    except IntegrityError:
        # Another worker stored the same message a moment ago.
        return False
    audit.record(
        Actor.system("approvals"),
        "approval.requested",
        result="succeeded",
        target_type="approval",
        target_id=str(req.pk),
        correlation_id=req.correlation_id,
        details={
            "kind": req.kind,
            "business_key": req.business_key,
            "summary": req.summary,
            "execution_arn": req.execution_arn,
        },
    )
    return True


# --- claims ----------------------------------------------------------------------------


def claim(request_id: int, *, actor: Actor) -> ApprovalRequest:
    """Take a request for CLAIM_DURATION so other approvers leave it to you."""
    req = _get(request_id)
    with audit.attempt(
        actor,
        "approval.claim",
        target_type="approval",
        target_id=str(req.pk),
        correlation_id=req.correlation_id,
    ) as a:
        try:
            _require_approver(actor)
            now = timezone.now()
            updated = (
                ApprovalRequest.objects.filter(pk=req.pk, status__in=OPEN_STATUSES)
                .filter(Q(claimed_by="") | Q(claimed_until__lt=now) | Q(claimed_by=actor.id))
                .update(claimed_by=actor.id, claimed_until=now + CLAIM_DURATION, updated_at=now)
            )
            req.refresh_from_db()
            if not updated:
                if not req.is_open:
                    raise AlreadyDecided(req)
                raise ClaimedByOther(req)
        except ApprovalError as exc:
            a.refused(str(exc), code=exc.code)
            raise
    return req


def unclaim(request_id: int, *, actor: Actor) -> ApprovalRequest:
    """Give a claimed request back (an admin may release anybody's)."""
    req = _get(request_id)
    with audit.attempt(
        actor,
        "approval.unclaim",
        target_type="approval",
        target_id=str(req.pk),
        correlation_id=req.correlation_id,
    ) as a:
        try:
            _require_approver(actor)
            qs = ApprovalRequest.objects.filter(pk=req.pk)
            if actor.role != ADMIN:
                qs = qs.filter(claimed_by=actor.id)
            qs.update(claimed_by="", claimed_until=None, updated_at=timezone.now())
            req.refresh_from_db()
        except ApprovalError as exc:
            a.refused(str(exc), code=exc.code)
            raise
    return req


# --- deciding --------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionResult:
    request: ApprovalRequest
    # approved | rejected | first_approval | pending_send | expired | closed
    outcome: str
    message: str
    replayed: bool = False


def _get(request_id: int | str) -> ApprovalRequest:
    try:
        pk = int(request_id)
    except (TypeError, ValueError):
        raise RequestNotFound("No such approval request.") from None
    req = ApprovalRequest.objects.select_related("saga").filter(pk=pk).first()
    if req is None:
        raise RequestNotFound("No such approval request.")
    return req


def decide(
    request_id: int | str,
    *,
    actor: Actor,
    decision: str,
    reason: str = "",
    comment: str = "",
    ticket: str = "",
    idempotency_key: str = "",
    identities: Iterable[str] = (),
) -> DecisionResult:
    """Approve or reject once: the DB transition first, then SendTaskSuccess/Failure."""
    req = _get(request_id)
    reason, comment, ticket = reason.strip(), comment.strip(), ticket.strip()
    verb = decision if decision in Decision.values else "decide"
    with audit.attempt(
        actor,
        f"approval.{verb}",
        target_type="approval",
        target_id=str(req.pk),
        ticket=ticket[:MAX_TICKET],
        reason=reason,
        correlation_id=req.correlation_id,
        details={"kind": req.kind, "business_key": req.business_key, "comment": comment},
    ) as a:
        try:
            result = _decide(
                req,
                actor=actor,
                decision=decision,
                reason=reason,
                comment=comment,
                ticket=ticket,
                idempotency_key=idempotency_key.strip()[:128],
                identities=identities,
            )
        except ApprovalError as exc:
            a.refused(str(exc), code=exc.code)
            raise
        if result.outcome in ("expired", "closed", "pending_send"):
            a.failed(result.message, outcome=result.outcome)
        else:
            a.succeeded(outcome=result.outcome, replayed=result.replayed)
    return result


def _decide(
    req: ApprovalRequest,
    *,
    actor: Actor,
    decision: str,
    reason: str,
    comment: str,
    ticket: str,
    idempotency_key: str,
    identities: Iterable[str],
) -> DecisionResult:
    _require_approver(actor)
    if decision not in Decision.values:
        raise InvalidDecision("The decision must be 'approve' or 'reject'.")
    if decision == Decision.REJECT and not reason:
        raise InvalidDecision("A rejection needs a reason: it is sent to the saga as the cause.")
    if len(reason) > MAX_TEXT or len(comment) > MAX_TEXT:
        raise InvalidDecision(f"Reason and comment are limited to {MAX_TEXT} characters.")
    if len(ticket) > MAX_TICKET:
        raise InvalidDecision(f"A ticket reference is at most {MAX_TICKET} characters.")
    replay = _replay(req, actor, idempotency_key)
    if replay:
        return replay
    if decision == Decision.APPROVE and _is_initiator(req, actor, identities):
        raise SelfApproval(
            f"You started this saga ({req.requested_by}), so you may not approve it: "
            "another approver must."
        )
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
            "reason": reason,
            "comment": comment,
            "ticket": ticket,
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
                    request=req,
                    decided_by=actor.id,
                    decision=decision,
                    reason=reason,
                    comment=comment,
                    ticket=ticket,
                    idempotency_key=idempotency_key,
                    at=now,
                )
        req.refresh_from_db()
        if won and first:
            return DecisionResult(
                req,
                "first_approval",
                "First approval recorded. A second, different approver must approve "
                "before the step is released.",
            )
        if won:
            return _deliver(req)
        replay = _replay(req, actor, idempotency_key)
        if replay:
            return replay
        if (
            req.status == ApprovalStatus.PARTIALLY_APPROVED
            and decision == Decision.APPROVE
            and req.first_approved_by.lower() == actor.id.lower()
        ):
            raise SameApprover(
                "You gave the first approval. Four eyes: a second, different approver must approve."
            )
        if not req.is_open:
            raise AlreadyDecided(req)
    raise AlreadyDecided(req)


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
        return str(req.status), already_decided_message(req)
    return "pending", "Waiting for approval."


def pending_send_message(req: ApprovalRequest) -> str:
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


def _deliver(req: ApprovalRequest) -> DecisionResult:
    """Send the stored decision to AWS and record what AWS said."""
    env = _env(get_registry(), req.kind)
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
    fate = _wait_fate(req.execution_arn, env)
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


def _wait_fate(execution_arn: str, env: AwsEnvironment | None) -> str | None:
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


# --- bulk ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkItem:
    request_id: int
    label: str
    ok: bool
    outcome: str
    message: str


def decide_many(
    request_ids: Iterable[int | str],
    *,
    actor: Actor,
    decision: str,
    reason: str = "",
    comment: str = "",
    ticket: str = "",
    idempotency_key: str = "",
    identities: Iterable[str] = (),
) -> list[BulkItem]:
    """Decide several requests of one kind; each is decided and audited on its own."""
    ids: list[int] = []
    for raw in request_ids:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            continue
    ids = list(dict.fromkeys(ids))
    rows = {
        r.pk: r for r in ApprovalRequest.objects.filter(pk__in=ids).only("pk", "kind", "summary")
    }
    kinds = {r.kind for r in rows.values()}
    if len(kinds) > 1:
        audit.record(
            actor,
            f"approval.bulk_{decision}",
            result="refused",
            target_type="approval",
            target_id=",".join(str(i) for i in ids)[:512],
            error="selected requests are of different kinds",
        )
        raise MixedKinds("Bulk decisions take requests of one kind at a time.")
    identities = tuple(identities)
    items = []
    for pk in ids:
        row = rows.get(pk)
        if row is None:
            items.append(BulkItem(pk, f"#{pk}", False, "not_found", "No such approval request."))
            continue
        try:
            result = decide(
                pk,
                actor=actor,
                decision=decision,
                reason=reason,
                comment=comment,
                ticket=ticket,
                idempotency_key=f"{idempotency_key}:{pk}" if idempotency_key else "",
                identities=identities,
            )
        except ApprovalError as exc:
            items.append(BulkItem(pk, row.summary, False, exc.code, str(exc)))
            continue
        ok = result.outcome in ("approved", "rejected", "first_approval")
        items.append(BulkItem(pk, row.summary, ok, result.outcome, result.message))
    return items


# --- the sweep -------------------------------------------------------------------------


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
        req = _get(pk)
        with audit.attempt(
            Actor.system("approvals"),
            "approval.send_retry",
            target_type="approval",
            target_id=str(pk),
            correlation_id=req.correlation_id,
            details={"decision": req.decision, "decided_by": req.decided_by},
        ) as a:
            outcome = _deliver(req)
            if outcome.outcome == "pending_send":
                a.failed(outcome.request.send_error, outcome=outcome.outcome)
            else:
                a.succeeded(outcome=outcome.outcome)
        done += 1
    return done


def link_sagas() -> int:
    """Attach requests to their saga once the read model has synced it."""
    unlinked = list(
        ApprovalRequest.objects.filter(saga__isnull=True)
        .exclude(execution_arn="")
        .filter(status__in=(*OPEN_STATUSES, ApprovalStatus.SENDING))
        .values_list("pk", "execution_arn", "requested_by")[:500]
    )
    sagas = _sagas_by_arn(arn for _, arn, _ in unlinked)
    linked = 0
    for pk, arn, requested_by in unlinked:
        saga = sagas.get(arn)
        if saga is None:
            continue
        updates: dict[str, Any] = {"saga": saga}
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
        env = _env(registry, req.kind)
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
        elif _wait_fate(req.execution_arn, env) == "TaskTimedOut":
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
}


def _verdict_from_saga(
    req: ApprovalRequest, saga: Saga, registry: Registry
) -> tuple[str, str] | None:
    now = timezone.now()
    if saga.status not in ACTIVE_STATUSES:
        label = SagaStatus(saga.status).label if saga.status in SagaStatus.values else saga.status
        sfn_status = saga.sfn_status or _SAGA_TERMINAL_TO_SFN.get(saga.status, "")
        if sfn_status == "TIMED_OUT" or (req.deadline and req.deadline <= now):
            return ApprovalStatus.EXPIRED, f"The saga timed out ({label}) before a decision."
        return (
            ApprovalStatus.CLOSED,
            f"The saga ended ({label}) while this step waited: it was stopped or answered "
            "elsewhere.",
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
    if status == "TIMED_OUT" or (req.deadline and req.deadline <= now):
        return ApprovalStatus.EXPIRED, f"The execution is {status}: the step timed out."
    return (
        ApprovalStatus.CLOSED,
        f"The execution is {status}: the step is no longer waiting (stopped or answered "
        "elsewhere).",
    )


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
