"""DLQ actions that are not jobs: looking at messages (and keeping snapshots), the inbox's
numbers, and AWS's native move tasks. Sending back and deleting are jobs (handlers.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.aws import errors as aws_errors
from opsconsole.aws import sqs
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.errors import InvalidInput, PermissionRefused
from opsconsole.identity.roles import ADMIN, OPERATOR
from opsconsole.registry import Registry, get_registry

from ..config import DeadLetterQueue, dlqs
from ..models import DeadLetter, QueueDepth
from . import extract
from .errors import DlqNotFound, DlqUnavailable, MoveNotSupported, MoveTaskRunning

log = logging.getLogger(__name__)

OPERATOR_ROLES = (OPERATOR, ADMIN)
LOOK_LIMIT = 1000  # messages a look reads at most
MAX_RATE = 500  # SQS's move-task ceiling, messages per second


def dlq_named(name: str, registry: Registry | None = None) -> DeadLetterQueue:
    registry = registry or get_registry()
    for dlq in dlqs(registry):
        if dlq.name == name:
            return dlq
    raise DlqNotFound(dlq=name)


def env_of(dlq: DeadLetterQueue, registry: Registry | None = None) -> AwsEnvironment:
    registry = registry or get_registry()
    kind = registry.kinds.get(dlq.kind) if dlq.kind else None
    return registry.env_for(kind) if kind else next(iter(registry.environments.values()))


def require_operator(actor: Actor, action: str, target: str) -> None:
    if actor.role not in OPERATOR_ROLES:
        audit.record(
            actor,
            action,
            result="refused",
            target_type="dlq",
            target_id=target,
            error=PermissionRefused.code,
        )
        raise PermissionRefused(needed=list(OPERATOR_ROLES), role=actor.role)


def _ms(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except ValueError:
        return None


def snapshot(
    dlq: DeadLetterQueue, messages: Iterable[sqs.Message], registry: Registry | None = None
) -> list[DeadLetter]:
    """Keep (or refresh) a snapshot of each message seen; returns the rows."""
    registry = registry or get_registry()
    kind = registry.kinds.get(dlq.kind) if dlq.kind else None
    now = timezone.now()
    seen = {m.message_id: m for m in messages}
    existing = {
        d.message_id: d for d in DeadLetter.objects.filter(dlq=dlq.name, message_id__in=list(seen))
    }
    new: list[DeadLetter] = []
    changed: list[DeadLetter] = []
    for message_id, m in seen.items():
        row = existing.get(message_id)
        received = m.receive_count
        if row is not None:
            row.receive_count = max(row.receive_count, received)
            row.last_seen_at = now
            if row.state == DeadLetter.GONE:
                row.state = DeadLetter.PRESENT
            changed.append(row)
            continue
        reading = extract.read(m.body, dlq.mechanism, m.message_attributes, kind)
        new.append(
            DeadLetter(
                dlq=dlq.name,
                queue=dlq.queue,
                mechanism=dlq.mechanism,
                kind=dlq.kind or "",
                message_id=message_id,
                body=m.body,
                body_size=len(m.body.encode("utf-8", "surrogatepass")),
                body_format=reading.body_format,
                attributes=dict(m.attributes),
                message_attributes=dict(m.message_attributes),
                business_key=reading.business_key,
                correlation_id=reading.correlation_id,
                causation_id=reading.causation_id,
                error_code=reading.error_code,
                error_message=reading.error_message,
                receive_count=received,
                sent_at=m.sent_at,
                first_received_at=_ms(m.attributes.get("ApproximateFirstReceiveTimestamp")),
                first_seen_at=now,
                last_seen_at=now,
            )
        )
    with transaction.atomic():
        DeadLetter.objects.bulk_create(new, ignore_conflicts=True)
        DeadLetter.objects.bulk_update(changed, ["receive_count", "last_seen_at", "state"])
    return list(DeadLetter.objects.filter(dlq=dlq.name, message_id__in=list(seen)))


@dataclass(frozen=True)
class Look:
    dlq: str
    seen: int
    complete: bool  # every visible message was read
    released_at: datetime


def look(name: str, *, limit: int = 100, actor: Actor | None = None) -> Look:
    """Read up to `limit` messages without taking them (each receive adds one to the
    message's receive count; all are made visible again at once) and snapshot them.

    A look that read the whole queue while nothing was in flight marks the snapshots it
    did not see as gone."""
    registry = get_registry()
    dlq = dlq_named(name, registry)
    env = env_of(dlq, registry)
    limit = max(1, min(int(limit), LOOK_LIMIT))
    if actor is not None:
        require_operator(actor, "dlq.look", name)
    depth = QueueDepth.objects.filter(name=name).first()
    try:
        peeked = sqs.peek(dlq.queue, limit=limit, env=env)
    except aws_errors.AwsError as exc:
        if actor is not None:
            audit.record(
                actor,
                "dlq.look",
                result="failed",
                target_type="dlq",
                target_id=name,
                error=str(exc)[:300],
            )
        raise DlqUnavailable(dlq=name, aws_error=str(exc)[:300]) from exc
    released = timezone.now()
    messages = peeked.messages
    snapshot(dlq, messages, registry)
    complete = peeked.exhausted
    if complete and depth is not None and depth.in_flight == 0:
        DeadLetter.objects.filter(dlq=name, state=DeadLetter.PRESENT).exclude(
            message_id__in=[m.message_id for m in messages]
        ).update(state=DeadLetter.GONE, state_changed_at=released)
    if actor is not None:
        audit.record(
            actor,
            "dlq.look",
            result="succeeded",
            target_type="dlq",
            target_id=name,
            details={"seen": len(messages), "complete": complete},
        )
    return Look(dlq=name, seen=len(messages), complete=complete, released_at=released)


def snapshot_all(limit: int = 200) -> int:
    """The periodic look: every DLQ that holds messages is read (and released) once, so
    search and the case page know what is there without a person looking first."""
    registry = get_registry()
    seen = 0
    depths = {d.name: d for d in QueueDepth.objects.all()}
    for dlq in dlqs(registry):
        depth = depths.get(dlq.name)
        if depth is not None and not depth.visible:
            continue
        try:
            seen += look(dlq.name, limit=limit).seen
        except DlqUnavailable as exc:
            log.warning("could not look at %s: %s", dlq.name, exc.params.get("aws_error"))
    return seen


def poll_sources(dlq: DeadLetterQueue, env: AwsEnvironment) -> list[str]:
    """The source queues AWS knows for a DLQ (ListDeadLetterSourceQueues), [] on error."""
    if dlq.mechanism != "sqs_redrive":
        return []
    try:
        return sqs.dead_letter_sources(dlq.queue, env)
    except aws_errors.AwsError:
        return []


# --- move tasks (AWS's own redrive of a whole DLQ) ----------------------------------------


def queue_arn(dlq: DeadLetterQueue, env: AwsEnvironment) -> str:
    """The DLQ's ARN: made from the environment's account and region when the registry
    names them (no call), else read from AWS."""
    if env.account_id and not dlq.queue.startswith(("http://", "https://", "arn:")):
        return f"arn:aws:sqs:{env.region}:{env.account_id}:{dlq.queue}"
    if dlq.queue.startswith("arn:"):
        return dlq.queue
    return sqs.queue_stats(dlq.queue, env).arn


@dataclass(frozen=True)
class MoveTasks:
    dlq: str
    arn: str | None
    tasks: list[sqs.MoveTask]
    error: str = ""

    @property
    def active(self) -> sqs.MoveTask | None:
        return next((t for t in self.tasks if t.status in ("RUNNING", "CANCELLING")), None)


def move_tasks(name: str) -> MoveTasks:
    """The DLQ's latest move tasks (ListMessageMoveTasks), or the error that prevented it."""
    registry = get_registry()
    dlq = dlq_named(name, registry)
    if dlq.mechanism != "sqs_redrive":
        return MoveTasks(name, None, [], "")
    env = env_of(dlq, registry)
    try:
        arn = queue_arn(dlq, env)
        return MoveTasks(name, arn, sqs.list_message_move_tasks(arn, env))
    except aws_errors.AwsError as exc:
        return MoveTasks(name, None, [], str(exc)[:300])


def start_move_task(
    name: str,
    *,
    actor: Actor,
    ticket: str,
    reason: str = "",
    rate: int | None = None,
) -> str:
    """Start AWS's move task: every message of the DLQ back to its source, at `rate`."""
    registry = get_registry()
    dlq = dlq_named(name, registry)
    require_operator(actor, "dlq.move_task.start", name)
    if not ticket.strip():
        raise InvalidInput({"ticket": ["A ticket reference is required."]})
    if rate is not None and not 1 <= rate <= MAX_RATE:
        raise InvalidInput({"rate": [f"Between 1 and {MAX_RATE} messages per second."]})
    if dlq.mechanism != "sqs_redrive":
        raise MoveNotSupported(dlq=name, mechanism=dlq.mechanism)
    env = env_of(dlq, registry)
    with audit.attempt(
        actor,
        "dlq.move_task.start",
        target_type="dlq",
        target_id=name,
        ticket=ticket[:64],
        reason=reason,
        details={"rate": rate},
    ) as attempt:
        try:
            arn = queue_arn(dlq, env)
            handle = sqs.start_message_move_task(arn, max_per_second=rate, env=env)
        except aws_errors.MoveTaskAlreadyRunning as exc:
            attempt.refused(MoveTaskRunning.code, aws_error=str(exc)[:300])
            raise MoveTaskRunning(dlq=name) from exc
        except aws_errors.AwsError as exc:
            attempt.failed(str(exc)[:300])
            raise DlqUnavailable(dlq=name, aws_error=str(exc)[:300]) from exc
        attempt.succeeded(handle=handle)
    return handle


def cancel_move_task(name: str, handle: str, *, actor: Actor, reason: str = "") -> int:
    """Cancel a running move task; what it moved stays moved. Returns that count."""
    registry = get_registry()
    dlq = dlq_named(name, registry)
    require_operator(actor, "dlq.move_task.cancel", name)
    with audit.attempt(
        actor, "dlq.move_task.cancel", target_type="dlq", target_id=name, reason=reason
    ) as attempt:
        try:
            moved = sqs.cancel_message_move_task(handle, env_of(dlq, registry))
        except aws_errors.AwsError as exc:
            attempt.failed(str(exc)[:300])
            raise DlqUnavailable(dlq=name, aws_error=str(exc)[:300]) from exc
        attempt.succeeded(moved=moved)
    return moved
