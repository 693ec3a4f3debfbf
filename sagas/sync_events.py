"""Event-driven sync: Step Functions "Execution Status Change" events applied to the read
model.

Step Functions puts an event on the default EventBridge bus whenever an execution changes
status; a rule (registry `saga_sync[].events_rule`) sends those of the kinds' state machines
to an SQS queue (`events_queue`) that this module drains. An event carries the execution's
input (unless `inputDetails.included` is false), so business key, correlation id, initiator
and status need no DescribeExecution; an event without its input makes a row that waits for
its describe (`details_pending`, done within the backfill's budget by the sync).

Events may arrive twice or out of order: a status only replaces one that is behind it
(`sync.progress_key`: a redrive starts a new round, an end comes after RUNNING), so a
replayed or late event changes nothing. A message is deleted only after its event is stored.
The periodic listing stays as a slow safety net (SYNC_SAFETY_NET_SECONDS).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db.models import F
from django.utils import timezone

from opsconsole.aws import budget, sqs
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.aws.errors import AwsError
from opsconsole.registry import Registry, SagaKind, get_registry

from . import sync
from .config import kind_sync
from .models import Saga, SagaStatus, SyncState
from .parsing import text

log = logging.getLogger(__name__)

DETAIL_TYPE = "Step Functions Execution Status Change"
RECEIVE_BATCHES = 10  # messages are applied 100 at a time (ten receives of ten)
# Receives and deletes in flight at once: a round trip, not ten, per hundred events.
PARALLEL_CALLS = 5


@dataclass(frozen=True)
class StatusEvent:
    """What one status change event says about an execution."""

    arn: str
    state_machine_arn: str
    name: str
    status: str
    started_at: datetime
    stopped_at: datetime | None
    input: str | None
    input_included: bool
    error: str | None
    cause: str | None
    redrive_count: int

    @property
    def progress(self) -> tuple[int, int]:
        return sync.progress_key(self.redrive_count, self.status)

    @property
    def happened_at(self) -> datetime:
        return self.stopped_at or self.started_at

    def input_json(self) -> Any:
        try:
            return json.loads(self.input) if self.input else None
        except ValueError:
            return None


def _when(ms: Any) -> datetime | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


def parse_event(body: str) -> StatusEvent | None:
    """The status change an SQS message body carries; None for anything else (pure)."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
        return None
    d = event.get("detail") or {}
    try:
        started = _when(d["startDate"])
        if started is None:
            return None
        return StatusEvent(
            arn=str(d["executionArn"]),
            state_machine_arn=str(d.get("stateMachineArn") or ""),
            name=str(d.get("name") or d["executionArn"].rsplit(":", 1)[-1]),
            status=str(d["status"]),
            started_at=started,
            stopped_at=_when(d.get("stopDate")),
            input=d.get("input"),
            input_included=bool((d.get("inputDetails") or {}).get("included", True))
            and d.get("input") is not None,
            error=d.get("error"),
            cause=d.get("cause"),
            redrive_count=int(d.get("redriveCount") or 0),
        )
    except (KeyError, TypeError, ValueError):
        return None


@dataclass
class ApplyResult:
    applied: int = 0  # rows written (created or moved forward)
    unchanged: int = 0  # duplicates and events behind what the read model knows
    pending: int = 0  # rows made without the input: a describe is queued


def apply_events(
    kind: SagaKind,
    events: Iterable[StatusEvent],
    registry: Registry | None = None,
    env: AwsEnvironment | None = None,
) -> ApplyResult:
    """Apply a batch of one kind's events to the read model (idempotent, order-proof)."""
    registry = registry or get_registry()
    env = env or registry.env_for(kind)
    result = ApplyResult()
    latest: dict[str, StatusEvent] = {}
    for event in events:
        seen = latest.get(event.arn)
        if seen is not None:
            result.unchanged += 1  # one of the two is superseded within the batch
        if seen is None or event.progress > seen.progress:
            latest[event.arn] = event
    if not latest:
        return result
    rows = {s.execution_arn: s for s in Saga.objects.filter(execution_arn__in=list(latest))}
    names = kind_sync(registry, kind.key)
    changed: list[tuple[Saga, StatusEvent]] = []
    facts_only: list[Saga] = []
    for event in latest.values():
        row = rows.get(event.arn)
        behind = row is not None and sync.progress_key(row.redrive_count, row.sfn_status) > (
            event.progress
        )
        same = row is not None and sync.progress_key(row.redrive_count, row.sfn_status) == (
            event.progress
        )
        if row is not None and behind and row.details_pending and event.input_included:
            # A late event still carries the input a listed row lacks: its facts, not its
            # status (that stays where it is), and no describe.
            fallback = names.key_from_name(event.name) or event.name
            for name, value in sync.facts_from_input(kind, event.input_json(), fallback).items():
                setattr(row, name, value)
            row.details_pending = False
            facts_only.append(row)
            continue
        # A replay changes nothing, unless it brings the input a listed row still lacks.
        if behind or (same and not (row and row.details_pending and event.input_included)):
            result.unchanged += 1
            continue
        if row is None:
            row = Saga(
                kind=kind.key,
                execution_arn=event.arn,
                execution_name=event.name[:80],
                state_machine_arn=event.state_machine_arn,
                started_at=event.started_at,
                status=SagaStatus.RUNNING,
                sfn_status=event.status,
                business_key=(names.key_from_name(event.name) or event.name)[:200],
                details_pending=True,
            )
        if event.input_included:
            fallback = names.key_from_name(event.name) or event.name
            for name, value in sync.facts_from_input(kind, event.input_json(), fallback).items():
                setattr(row, name, value)
            row.details_pending = False
        elif row.details_pending:
            result.pending += 1
        row.started_at = event.started_at
        row.stopped_at = event.stopped_at
        row.redrive_count = event.redrive_count
        row.last_error = text(event.error, 255)
        row.last_cause = text(event.cause, 4000)
        if event.status not in ("RUNNING", "SUCCEEDED"):
            # Where it failed and what was compensated: the sync's tail backfill reads it.
            row.history_checked_at = None
        changed.append((row, event))
    if facts_only:
        sync.upsert(facts_only)
        result.applied += len(facts_only)
    if not changed:
        return result
    # The business status settles when the saga ends; a start does not need it read.
    statuses, _ = sync.fetch_business_statuses(
        kind, (r.business_key for r, e in changed if e.status != "RUNNING"), env
    )
    now = timezone.now()
    for row, event in changed:
        sync.apply_position(
            row,
            kind,
            None,
            sfn_status=event.status,
            business_status=statuses.get(row.business_key),
            now=now,
        )
        row.synced_at = now
    sync.upsert([row for row, _ in changed])
    result.applied += len(changed)
    newest = max(e.happened_at for _, e in changed)
    lag_ms = max(0, int((now - newest).total_seconds() * 1000))
    # Counted once the kind has been listed (its state exists): before, the list page says
    # the kind has not been synced yet, and that stays true until the first listing.
    SyncState.objects.filter(kind=kind.key).update(
        events_applied=F("events_applied") + len(changed),
        last_event_at=newest,
        last_event_lag_ms=min(lag_ms, 2**31 - 1),
    )
    return result


@dataclass
class ConsumeResult:
    received: int = 0
    applied: int = 0
    unchanged: int = 0
    ignored: int = 0  # not a status change of a kind's state machine
    pending: int = 0
    errors: list[str] = field(default_factory=list)


def _state_machine_arns(kinds: list[SagaKind], registry: Registry) -> dict[str, SagaKind]:
    known = dict(
        SyncState.objects.filter(kind__in=[k.key for k in kinds]).values_list(
            "kind", "state_machine_arn"
        )
    )
    out: dict[str, SagaKind] = {}
    for kind in kinds:
        env = registry.env_for(kind)
        arns = [a for a in (known.get(kind.key), sync._guess_arn(kind, env)) if a]
        if not arns:  # a name and no account id: ask once, remember it
            arn = sync.resolve_state_machine(kind, env)
            SyncState.objects.update_or_create(kind=kind.key, defaults={"state_machine_arn": arn})
            arns = [arn]
        for arn in arns:
            out[arn] = kind
    return out


def _queues(registry: Registry) -> dict[tuple[str, str], list[SagaKind]]:
    groups: dict[tuple[str, str], list[SagaKind]] = {}
    for kind in registry.kinds.values():
        queue = kind_sync(registry, kind.key).events_queue
        if queue:
            groups.setdefault((kind.environment, queue), []).append(kind)
    return groups


def consume(
    *, registry: Registry | None = None, max_seconds: float = 3.0, wait_seconds: int = 1
) -> ConsumeResult:
    """Drain the kinds' event queues for up to `max_seconds` (long-polling `wait_seconds`
    when one is empty), applying each batch before deleting its messages."""
    registry = registry or get_registry()
    result = ConsumeResult()
    deadline = time.monotonic() + max_seconds
    with budget.work("events"):
        for (env_name, queue), kinds in _queues(registry).items():
            env = registry.environments[env_name]
            try:
                _drain(queue, kinds, env, registry, deadline, wait_seconds, result)
            except AwsError as exc:
                result.errors.append(f"{queue}: {exc.code}: {exc}"[:500])
                log.warning("reading status change events from %s failed: %s", queue, exc)
    return result


def _drain(
    queue: str,
    kinds: list[SagaKind],
    env: AwsEnvironment,
    registry: Registry,
    deadline: float,
    wait_seconds: int,
    result: ConsumeResult,
) -> None:
    by_arn = _state_machine_arns(kinds, registry)

    def receive(wait: int) -> list[sqs.Message]:
        return sqs.receive_messages(queue, max_messages=10, wait_seconds=wait, env=env)

    def delete(handles: list[str]) -> int:
        return sqs.delete_messages(queue, handles, env=env)

    with budget.ThreadPool(PARALLEL_CALLS) as pool:  # its calls stay the events' work
        while time.monotonic() < deadline:
            messages = receive(wait_seconds)
            if not messages:
                return
            if len(messages) == 10:  # a backlog: take more of it at once
                for got in pool.map(receive, [0] * (RECEIVE_BATCHES - 1)):
                    messages.extend(got)
            _apply_messages(messages, by_arn, registry, env, result)
            handles = [m.receipt_handle for m in messages]
            list(pool.map(delete, [handles[i : i + 10] for i in range(0, len(handles), 10)]))


def _apply_messages(
    messages: list[sqs.Message],
    by_arn: dict[str, SagaKind],
    registry: Registry,
    env: AwsEnvironment,
    result: ConsumeResult,
) -> None:
    result.received += len(messages)
    per_kind: dict[str, list[StatusEvent]] = {}
    for message in messages:
        event = parse_event(message.body)
        kind = by_arn.get(event.state_machine_arn) if event else None
        if event is None or kind is None:
            result.ignored += 1
            continue
        per_kind.setdefault(kind.key, []).append(event)
    for key, events in per_kind.items():
        applied = apply_events(registry.kinds[key], events, registry, env)
        result.applied += applied.applied
        result.unchanged += applied.unchanged
        result.pending += applied.pending
