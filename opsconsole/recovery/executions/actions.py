"""Redrive, restart, stop and mark resolved: each validated, audited, done exactly once.

Every action follows one path (`_carry_out`): refusals known up front are audited once and
raised; the action is claimed as a `SagaAction` row whose unique (saga, action, seq) key two
operators pressing the same button cannot both win; the AWS call is made with a client token
or execution name derived from that key (so a retry after a crash is the same call, which
AWS answers without doing it twice); the outcome is recorded, audited and told as a domain
event in one transaction. `verify` later marks the action done once its saga ends.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent
from opsconsole.aws import errors as aws_errors
from opsconsole.aws import stepfunctions
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.identity.roles import ADMIN, OPERATOR
from opsconsole.registry import get_registry
from opsconsole.web.masking import MASK
from sagas.models import Saga
from sagas.tickets import emit_saga_event

from . import eligibility
from .errors import (
    AlreadyInProgress,
    InvalidRecoveryInput,
    NotAnOperator,
    NotEligible,
    RecoveryError,
    RefusedByAws,
    SagaNotFound,
)
from .models import OPEN_STATES, ActionKind, ActionState, SagaAction

logger = logging.getLogger(__name__)

OPERATOR_ROLES = (OPERATOR, ADMIN)
MAX_TICKET = 64
MAX_TEXT = 2000
MAX_INPUT_BYTES = 262_144  # Step Functions' payload limit (256 KB)
STOP_ERROR = "OperatorStopped"
EVENT_OF = {
    ActionKind.REDRIVE: "saga.redriven",
    ActionKind.RESTART: "saga.restarted",
    ActionKind.STOP: "saga.stopped",
    ActionKind.RESOLVE: "saga.resolved",
}
_RESTART_SUFFIX = re.compile(r"-r(\d+)$")

# What AWS refusals mean for a person.
_AWS_WORDS = {
    "ExecutionNotRedrivable": "AWS refused the redrive: {detail}",
    "ExecutionLimitExceeded": "AWS refused: too many executions are running in the account.",
    "ExecutionAlreadyExists": "An execution of that name already exists with another input.",
    "InvalidExecutionInput": "AWS refused the input: {detail}",
    "ExecutionDoesNotExist": "The execution no longer exists in AWS.",
    "StateMachineDoesNotExist": "The state machine no longer exists in AWS.",
}


# --- looking things up -----------------------------------------------------------------


def get_saga(saga_id: int | str) -> Saga:
    try:
        pk = int(saga_id)
    except (TypeError, ValueError):
        raise SagaNotFound(saga_id=str(saga_id)) from None
    saga = Saga.objects.filter(pk=pk).first()
    if saga is None:
        raise SagaNotFound(saga_id=pk)
    return saga


def env_for(saga: Saga) -> AwsEnvironment | None:
    registry = get_registry()
    kind = registry.kind(saga.kind)
    return registry.env_for(kind) if kind else None


def facts_of(saga: Saga, actions: list[SagaAction] | None = None) -> eligibility.SagaFacts:
    """The read model's facts plus what recovery already did to the saga."""
    if actions is None:
        actions = list(SagaAction.objects.filter(saga=saga))
    return facts_from(
        saga.status,
        saga.sfn_status,
        saga.stopped_at,
        saga.compensation_ran,
        [(a.action, a.state, a.new_execution_arn) for a in actions],
        [a.seq for a in actions],
    )


def panel_verdicts(saga: Saga) -> dict[ActionKind, eligibility.Verdict]:
    """What each action may do to the saga now, from the read model and the definition the
    case page already cached (the recovery panel and its API ask AWS nothing)."""
    from sagas.actions import cached_definition

    facts = facts_of(saga)
    definition = cached_definition(saga) if saga.last_error else None
    return {
        ActionKind.REDRIVE: eligibility.redrive_in_panel(
            facts, timezone.now(), definition, saga.last_error
        ),
        ActionKind.RESTART: eligibility.can_restart(facts),
        ActionKind.STOP: eligibility.can_stop(facts),
        ActionKind.RESOLVE: eligibility.can_resolve(facts),
    }


def facts_from(
    status: str,
    sfn_status: str,
    stopped_at: datetime | None,
    compensation_ran: bool,
    actions: list[tuple[str, str, str]],
    seqs: list[int] | None = None,
) -> eligibility.SagaFacts:
    resolved = any(a == ActionKind.RESOLVE and s == ActionState.DONE for a, s, _ in actions)
    open_action = next((a for a, s, _ in actions if s in OPEN_STATES), "")
    restarted = next(
        (arn for a, s, arn in actions if a == ActionKind.RESTART and arn and s != "failed"), ""
    )
    recovered = [
        (seqs[i] if seqs else 0)
        for i, (a, s, _) in enumerate(actions)
        if a == ActionKind.REDRIVE and s == ActionState.RECOVERED
    ]
    return eligibility.SagaFacts(
        recovered_by=f"redrive #{max(recovered)}" if recovered else "",
        status=status,
        sfn_status=sfn_status,
        stopped_at=stopped_at,
        compensation_ran=compensation_ran,
        resolved=resolved,
        open_action=str(open_action),
        restarted_as=restarted.rsplit(":", 1)[-1] if restarted else "",
    )


def _top_level_states(saga: Saga, env: AwsEnvironment | None) -> dict[str, str]:
    key = f"recovery:states:{saga.state_machine_arn}"
    found = cache.get(key)
    if found is None:
        definition = stepfunctions.state_machine_definition(saga.state_machine_arn, env)
        found = {n: str(s.get("Type", "")) for n, s in definition.get("States", {}).items()}
        cache.set(key, found, 60)
    return dict(found)


# --- previews ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What an action will do to one saga, shown before the person confirms."""

    action: str
    allowed: bool
    why_not: str = ""
    what: str = ""  # what will happen, in words
    facts: dict[str, Any] = field(default_factory=dict)


def preview_redrive(saga: Saga) -> Preview:
    """Redrive: the read model first, then DescribeExecution and the history tail (where AWS
    will resume, and whether that is a Fail state a redrive would only repeat)."""
    verdict = eligibility.can_redrive(facts_of(saga), timezone.now())
    if not verdict.allowed:
        return Preview(ActionKind.REDRIVE, False, verdict.why)
    env = env_for(saga)
    try:
        execution = stepfunctions.describe_execution(saga.execution_arn, env)
        if execution is None:
            return Preview(ActionKind.REDRIVE, False, "The execution no longer exists in AWS.")
        tail = stepfunctions.get_history_tail(saga.execution_arn, 100, env)
        point = eligibility.resume_point(tail, _top_level_states(saga, env))
    except aws_errors.AwsError as exc:
        return Preview(ActionKind.REDRIVE, False, f"AWS could not be asked now: {exc}")
    live = eligibility.live_redrive_verdict(
        execution.redrive_status, execution.redrive_status_reason, point
    )
    facts = {
        "redrive_status": execution.redrive_status or "",
        "redrive_count": execution.redrive_count,
        "resume_at": point.state if point else "",
        "error": execution.error or "",
    }
    if not live.allowed:
        return Preview(ActionKind.REDRIVE, False, live.why, facts=facts)
    where = f"at {point.state}" if point else "at its failed step"
    return Preview(
        ActionKind.REDRIVE,
        True,
        what=(
            f"The same execution resumes {where} with the input that step had; the steps "
            f"that completed are not run again. This is redrive #{execution.redrive_count + 1}."
        ),
        facts=facts,
    )


def preview_restart(saga: Saga, corrected: str | None = None) -> Preview:
    verdict = eligibility.can_restart(facts_of(saga))
    if not verdict.allowed:
        return Preview(ActionKind.RESTART, False, verdict.why)
    name = restart_name(saga.execution_name)
    what = f"A new execution {name} starts with {'the corrected' if corrected else 'the same'}"
    return Preview(
        ActionKind.RESTART,
        True,
        what=f"{what} input; it is linked to this one both ways.",
        facts={"new_name": name},
    )


def preview_stop(saga: Saga) -> Preview:
    verdict = eligibility.can_stop(facts_of(saga))
    if not verdict.allowed:
        return Preview(ActionKind.STOP, False, verdict.why)
    return Preview(
        ActionKind.STOP,
        True,
        what=(
            f"The execution is aborted now (error {STOP_ERROR}, your reason as the cause); "
            "the step it is in does not finish and no compensation runs."
        ),
    )


def preview_resolve(saga: Saga) -> Preview:
    verdict = eligibility.can_resolve(facts_of(saga))
    if not verdict.allowed:
        return Preview(ActionKind.RESOLVE, False, verdict.why)
    return Preview(
        ActionKind.RESOLVE,
        True,
        what="Nothing is sent to AWS: the saga is marked resolved with your note.",
    )


PREVIEWS: dict[str, Callable[[Saga], Preview]] = {
    ActionKind.REDRIVE: preview_redrive,
    ActionKind.RESTART: preview_restart,
    ActionKind.STOP: preview_stop,
    ActionKind.RESOLVE: preview_resolve,
}


def restart_name(name: str) -> str:
    """order-8842-1 -> order-8842-1-r1 -> order-8842-1-r2 (execution names: 80 chars)."""
    found = _RESTART_SUFFIX.search(name)
    if found:
        return f"{name[: found.start()]}-r{int(found.group(1)) + 1}"
    return f"{name[:76]}-r1"


# --- the corrected input ------------------------------------------------------------------


@dataclass(frozen=True)
class CorrectedInput:
    text: str  # what is sent
    diff: str  # the change as a unified diff of the masked documents (what a person saw)


def _unmask(corrected: Any, original: Any) -> Any:
    """Masked values the person left alone get their original value back."""
    if corrected == MASK:
        return original
    if isinstance(corrected, dict) and isinstance(original, dict):
        return {k: _unmask(v, original.get(k)) for k, v in corrected.items()}
    if isinstance(corrected, list) and isinstance(original, list):
        return [
            _unmask(v, original[i] if i < len(original) else None) for i, v in enumerate(corrected)
        ]
    return corrected


def parse_corrected_input(
    text: str, original_text: str | None, masked_original: Any
) -> CorrectedInput:
    """Validate a corrected input before anything is sent: JSON, at most 256 KB."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidRecoveryInput(
            problem="not_json", field="input", detail=str(exc)[:200]
        ) from None
    try:
        original = json.loads(original_text) if original_text else None
    except ValueError:
        original = None
    restored = _unmask(document, original)
    sent = json.dumps(restored, separators=(",", ":"), ensure_ascii=False)
    if len(sent.encode()) > MAX_INPUT_BYTES:
        raise InvalidRecoveryInput(
            problem="too_large", field="input", limit=MAX_INPUT_BYTES, size=len(sent.encode())
        )
    before = json.dumps(masked_original, indent=2, sort_keys=True, ensure_ascii=False)
    after = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
    diff = "\n".join(
        difflib.unified_diff(
            before.splitlines(), after.splitlines(), "original", "corrected", lineterm=""
        )
    )
    return CorrectedInput(text=sent, diff=diff)


# --- carrying an action out ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What a person asks for, whichever door (page, API, bulk job) it came through."""

    action: str
    actor: Actor
    ticket: str = ""
    reason: str = ""
    idempotency_key: str = ""
    corrected: CorrectedInput | None = None
    job_id: int | None = None


def _validate(req: Request) -> RecoveryError | None:
    if req.actor.role not in OPERATOR_ROLES and req.actor.type != "system":
        return NotAnOperator(role=req.actor.role)
    if len(req.ticket) > MAX_TICKET:
        return InvalidRecoveryInput(problem="ticket_too_long", field="ticket", limit=MAX_TICKET)
    if len(req.reason) > MAX_TEXT:
        return InvalidRecoveryInput(problem="too_long", field="reason", limit=MAX_TEXT)
    if req.action in (ActionKind.STOP, ActionKind.RESOLVE) and not req.reason.strip():
        word = "reason" if req.action == ActionKind.STOP else "note"
        return InvalidRecoveryInput(problem="reason_required", field="reason", what=word)
    return None


def _refuse(saga: Saga, req: Request, error: RecoveryError) -> RecoveryError:
    audit.record(
        req.actor,
        f"saga.{req.action}",
        result="refused",
        target_type="saga",
        target_id=str(saga.pk),
        correlation_id=saga.correlation_id,
        ticket=req.ticket[:MAX_TICKET],
        reason=req.reason[:MAX_TEXT],
        error=error.code,
        details={
            "kind": saga.kind,
            "business_key": saga.business_key,
            **{k: str(v) for k, v in error.params.items() if k != "errors"},
        },
    )
    return error


def _eligibility(saga: Saga, action: str) -> eligibility.Verdict:
    facts = facts_of(saga)
    if action == ActionKind.REDRIVE:
        return eligibility.can_redrive(facts, timezone.now())
    if action == ActionKind.RESTART:
        return eligibility.can_restart(facts)
    if action == ActionKind.STOP:
        return eligibility.can_stop(facts)
    return eligibility.can_resolve(facts)


def _seq(saga: Saga, action: str) -> int:
    if action == ActionKind.REDRIVE:
        # The n-th redrive of the execution: AWS's count, as the read model last saw it,
        # or as far as recovery itself already got.
        done = SagaAction.objects.filter(saga=saga, action=action).exclude(state="failed")
        last = max((a.seq for a in done), default=0)
        return max(saga.redrive_count, last) + 1
    return SagaAction.objects.filter(saga=saga, action=action).exclude(state="failed").count() + 1


@dataclass
class Claimed:
    """An action claimed for a saga, its audit attempt open (None: an earlier request's
    action handed back, nothing to do)."""

    record: SagaAction
    attempt: audit.Attempt | None


def act(saga_id: int | str, req: Request) -> SagaAction:
    """Do `req.action` to the saga once; raise a RecoveryError when refused."""
    claimed = claim(saga_id, req)
    if claimed.attempt is None:
        return claimed.record
    try:
        sent = call_aws(claimed.record)
    except Exception as exc:
        claimed.attempt.failed(f"{type(exc).__name__}: {exc}")
        raise
    return conclude(claimed, sent)


def claim(saga_id: int | str, req: Request) -> Claimed:
    """Validate, judge, audit the intent and claim the action (the database part, before
    AWS is asked); raise a RecoveryError (audited once) when refused."""
    saga = get_saga(saga_id)
    if req.idempotency_key:
        earlier = (
            SagaAction.objects.select_related("saga")
            .filter(actor=req.actor.id, idempotency_key=req.idempotency_key[:128])
            .first()
        )
        if earlier is not None:
            return Claimed(earlier, None)  # a retry of a request already taken
    refusal = _validate(req)
    if refusal is None:
        verdict = _eligibility(saga, req.action)
        if not verdict.allowed:
            refusal = NotEligible(action=req.action, why=verdict.why, saga_id=saga.pk)
    if refusal is not None:
        raise _refuse(saga, req, refusal)
    details: dict[str, Any] = {"kind": saga.kind, "business_key": saga.business_key}
    if req.corrected is not None:
        details["input_diff"] = req.corrected.diff[:20000]
    if req.job_id is not None:
        details["job_id"] = req.job_id
    attempt = audit.Attempt(
        uuid.uuid4(),
        req.actor,
        f"saga.{req.action}",
        "saga",
        str(saga.pk),
        ticket=req.ticket[:MAX_TICKET],
        reason=req.reason[:MAX_TEXT],
        correlation_id=saga.correlation_id,
        details=details,
    )
    attempt._write(AuditEvent.STARTED)
    attempt.outcome = None
    record = _claim(saga, req)
    if record is None:
        holder = (
            SagaAction.objects.filter(saga=saga, action=req.action).order_by("-seq", "-id").first()
        )
        error = AlreadyInProgress(
            action=req.action,
            by=holder.actor if holder else "",
            at=holder.created_at if holder else None,
            saga_id=saga.pk,
        )
        attempt.refused(error.code, by=error.params["by"])
        raise error
    return Claimed(record, attempt)


def conclude(claimed: Claimed, sent: Sent) -> SagaAction:
    """Record what AWS answered, and the audit outcome; raise RefusedByAws if it refused."""
    record = claimed.record
    record_outcome(record, sent)
    record.refresh_from_db()
    attempt = claimed.attempt
    if record.state == ActionState.FAILED:
        if attempt is not None:
            attempt.failed(record.error, action_id=record.pk)
        raise RefusedByAws(
            aws_code=record.outcome_status, detail=record.error, saga_id=record.saga_id
        )
    if attempt is not None:
        attempt.succeeded(action_id=record.pk, state=record.state)
    return record


def _claim(saga: Saga, req: Request) -> SagaAction | None:
    seq = _seq(saga, req.action)
    fields: dict[str, Any] = {
        "saga": saga,
        "action": req.action,
        "seq": seq,
        "state": ActionState.SENDING,
        "execution_arn": saga.execution_arn,
        "actor": req.actor.id,
        "actor_role": req.actor.role,
        "ticket": req.ticket[:MAX_TICKET],
        "reason": req.reason[:MAX_TEXT],
        "idempotency_key": req.idempotency_key[:128],
        "job_id": req.job_id,
    }
    if req.action == ActionKind.REDRIVE:
        fields["client_token"] = f"opsconsole-{saga.pk}-redrive-{seq}"[:64]
    elif req.action == ActionKind.RESTART:
        name = restart_name(saga.execution_name)
        arn = saga.execution_arn.rsplit(":", 1)[0] + ":" + name
        fields["new_execution_arn"] = arn
        fields["preview"] = {
            "input": req.corrected.text if req.corrected else None,
            "input_diff": req.corrected.diff if req.corrected else "",
            "new_name": name,
        }
    try:
        with transaction.atomic():
            return SagaAction.objects.create(**fields)
    except IntegrityError:
        return None


@dataclass(frozen=True)
class Sent:
    """What AWS answered to an action's call (no database in it: it may run in a thread)."""

    error: aws_errors.AwsError | None = None
    input_text: str | None = None  # a restart's input, when read from the old execution


def send(record: SagaAction) -> None:
    """Make the AWS call of a claimed action again (safe: same token, same name) and record
    its outcome."""
    record_outcome(record, call_aws(record))


def call_aws(record: SagaAction) -> Sent:
    """The AWS side of an action; touches no database once `record.saga` is loaded."""
    saga = record.saga
    env = env_for(saga)
    text = None
    try:
        if record.action == ActionKind.REDRIVE:
            _send_redrive(record, env)
        elif record.action == ActionKind.RESTART:
            text = _send_restart(record, saga, env)
        elif record.action == ActionKind.STOP:
            stepfunctions.stop_execution(
                record.execution_arn, STOP_ERROR, record.reason or "Stopped by an operator", env
            )
    except aws_errors.AwsError as exc:
        return Sent(error=exc, input_text=text)
    return Sent(input_text=text)


def record_outcome(record: SagaAction, sent: Sent) -> None:
    """Write what AWS answered; the domain event goes out with the state change."""
    saga = record.saga
    if sent.input_text is not None and (record.preview or {}).get("input") is None:
        record.preview = {**(record.preview or {}), "input": sent.input_text}
        SagaAction.objects.filter(pk=record.pk).update(preview=record.preview)
    exc = sent.error
    if isinstance(exc, aws_errors.AwsUnavailable):
        # Unknown whether it happened: stays `sending`; the verify sweep sends it again
        # (the same token / name, so AWS does it at most once).
        SagaAction.objects.filter(pk=record.pk).update(error=str(exc)[:500])
        logger.warning("recovery %s of %s not sent yet: %s", record.action, saga.pk, exc)
        return
    if exc is not None:
        words = _AWS_WORDS.get(exc.code, "AWS refused: {detail}").format(detail=str(exc))
        SagaAction.objects.filter(pk=record.pk, state=ActionState.SENDING).update(
            state=ActionState.FAILED,
            error=words[:2000],
            outcome_status=exc.code[:16],
            finished_at=timezone.now(),
        )
        return
    now = timezone.now()
    state = ActionState.DONE if record.action == ActionKind.RESOLVE else ActionState.VERIFYING
    with transaction.atomic():
        moved = SagaAction.objects.filter(pk=record.pk, state=ActionState.SENDING).update(
            state=state,
            sent_at=now,
            error="",
            finished_at=now if state == ActionState.DONE else None,
        )
        if moved:
            _emit(record)
    if record.action in (ActionKind.REDRIVE, ActionKind.STOP) and record.job_id is None:
        # One saga from its page: show its new state at once. A bulk job leaves that to
        # the verification (and the sync), which reads each saga once anyway.
        _refresh(saga)


def _send_redrive(record: SagaAction, env: AwsEnvironment | None) -> None:
    try:
        stepfunctions.redrive_execution(record.execution_arn, record.client_token, env)
    except aws_errors.ExecutionNotRedrivable:
        # A resend after AWS forgot the token (15 minutes): did our redrive happen?
        found = stepfunctions.describe_execution(record.execution_arn, env)
        if found is None or found.redrive_count < record.seq:
            raise


def _send_restart(record: SagaAction, saga: Saga, env: AwsEnvironment | None) -> str:
    name = record.new_execution_arn.rsplit(":", 1)[-1]
    text = (record.preview or {}).get("input")
    if text is None:
        current = stepfunctions.describe_execution(saga.execution_arn, env)
        if current is None:
            raise aws_errors.ExecutionNotFound("gone", code="ExecutionDoesNotExist")
        text = current.input or "{}"
    try:
        stepfunctions.start_execution_with_input(saga.state_machine_arn, name, text, env)
    except aws_errors.ExecutionAlreadyExists:
        # Our own earlier start (a resend): the execution of that name is this restart.
        found = stepfunctions.describe_execution(record.new_execution_arn, env)
        if found is None or (found.input or "") != text:
            raise
    return str(text)


def _emit(record: SagaAction) -> None:
    saga = record.saga
    data: dict[str, Any] = {
        "action_id": record.pk,
        "seq": record.seq,
        "ticket": record.ticket,
        "reason": record.reason,
        "execution_arn": record.execution_arn,
        "kind": saga.kind,
        "business_key": saga.business_key,
    }
    if record.action == ActionKind.RESTART:
        data["new_execution_arn"] = record.new_execution_arn
        data["input_corrected"] = bool((record.preview or {}).get("input_diff"))
    if record.job_id is not None:
        data["job_id"] = record.job_id
    # Through sagas' emitter, so the event carries the saga's tickets (the ServiceNow channel
    # adds a work note to each of their incidents).
    emit_saga_event(
        EVENT_OF[ActionKind(record.action)],
        saga,
        actor=Actor(type="user", id=record.actor, role=record.actor_role),
        data=data,
    )


def _refresh(saga: Saga) -> None:
    from sagas.actions import refresh_saga

    try:
        refresh_saga(saga)
    except aws_errors.AwsError as exc:  # the sync catches up
        logger.info("could not refresh saga %s after recovery: %s", saga.pk, exc)


# --- verified outcome ---------------------------------------------------------------------

RESEND_AFTER = timedelta(seconds=30)
VERIFY_LIMIT = 100


@dataclass
class VerifyResult:
    resent: int = 0
    finished: int = 0
    still_running: int = 0


def verify(limit: int = VERIFY_LIMIT, only: list[int] | None = None) -> VerifyResult:
    """Resend actions whose send was lost; mark sent ones done once their saga ended."""
    result = VerifyResult()
    now = timezone.now()
    stale = SagaAction.objects.filter(state=ActionState.SENDING, created_at__lt=now - RESEND_AFTER)
    if only is not None:
        stale = SagaAction.objects.filter(pk__in=only, state=ActionState.SENDING)
    for record in stale.select_related("saga")[:limit]:
        send(record)
        result.resent += 1
    waiting = SagaAction.objects.filter(state=ActionState.VERIFYING)
    if only is not None:
        waiting = waiting.filter(pk__in=only)
    for record in waiting.select_related("saga").order_by("checked_at", "id")[:limit]:
        if check(record):
            result.finished += 1
        else:
            result.still_running += 1
    return result


def check(record: SagaAction) -> bool:
    """Ask AWS whether the action's execution ended; record the verified outcome if so."""
    saga = record.saga
    env = env_for(saga)
    arn = record.new_execution_arn if record.action == ActionKind.RESTART else record.execution_arn
    now = timezone.now()
    try:
        found = stepfunctions.describe_execution(arn, env)
    except aws_errors.AwsError as exc:
        logger.info("could not verify recovery action %s: %s", record.pk, exc)
        return False
    if found is None or found.status in ("RUNNING", "PENDING_REDRIVE"):
        SagaAction.objects.filter(pk=record.pk).update(checked_at=now)
        return False
    if record.action == ActionKind.STOP:
        state = ActionState.DONE
    else:
        state = ActionState.RECOVERED if found.status == "SUCCEEDED" else ActionState.FAILED_AGAIN
    step = ""
    if record.action != ActionKind.RESTART:
        refreshed = _refresh_and_get(saga)
        step = refreshed.current_step if refreshed else ""
    elif state == ActionState.FAILED_AGAIN:
        step = _failed_step(arn, env)
    SagaAction.objects.filter(pk=record.pk, state=ActionState.VERIFYING).update(
        state=state,
        outcome_status=found.status[:16],
        outcome_step=(step or found.error or "")[:80],
        finished_at=now,
        checked_at=now,
    )
    return True


def _refresh_and_get(saga: Saga) -> Saga | None:
    _refresh(saga)
    return Saga.objects.filter(pk=saga.pk).first()


def _failed_step(arn: str, env: AwsEnvironment | None) -> str:
    try:
        tail = stepfunctions.get_history_tail(arn, 30, env)
    except aws_errors.AwsError:
        return ""
    failed = [
        e.details.get("name", "")
        for e in tail
        if e.type.endswith("StateEntered") and e.details.get("name")
    ]
    return failed[-1] if failed else ""


# --- runs as one story -------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    execution_arn: str
    name: str
    saga_id: int | None
    status: str
    started_at: datetime | None
    current: bool
    how: str  # "original" | "restart of <name>"


def runs_of(saga: Saga, limit: int = 20) -> list[Run]:
    """The saga's runs, first to latest: restarts linked both ways by their actions."""
    chain = [saga.execution_arn]
    arn = saga.execution_arn
    for _ in range(limit):  # walk back to the first run
        parent = SagaAction.objects.filter(action=ActionKind.RESTART, new_execution_arn=arn).first()
        if parent is None:
            break
        arn = parent.execution_arn
        chain.insert(0, arn)
    arn = saga.execution_arn
    for _ in range(limit):  # and forward to the latest
        child = (
            SagaAction.objects.filter(action=ActionKind.RESTART, execution_arn=arn)
            .exclude(state=ActionState.FAILED)
            .first()
        )
        if child is None or not child.new_execution_arn:
            break
        arn = child.new_execution_arn
        chain.append(arn)
    if len(chain) == 1:
        return []
    rows = {s.execution_arn: s for s in Saga.objects.filter(execution_arn__in=chain)}
    runs = []
    for i, arn in enumerate(chain):
        row = rows.get(arn)
        runs.append(
            Run(
                execution_arn=arn,
                name=arn.rsplit(":", 1)[-1],
                saga_id=row.pk if row else None,
                status=row.status if row else "starting",
                started_at=row.started_at if row else None,
                current=arn == saga.execution_arn,
                how="original" if i == 0 else f"restart of {chain[i - 1].rsplit(':', 1)[-1]}",
            )
        )
    return runs
