"""Syncing the read model from Step Functions and DynamoDB.

Per saga kind:
1. List executions newest first; stop at a known execution older than the watermark of the
   last complete listing. A sync with nothing new and nothing running is one ListExecutions
   call per state machine.
2. Executions that are new, or whose status changed, are described (input: business key,
   correlation id, initiator, ticket) and, unless they simply succeeded, the tail of their
   history is read for the current (or failing) step, a pending callback and compensation.
3. Active rows the listing did not reach are checked with one RUNNING listing; those that
   ended are described, those still running get their history tail re-read (round robin,
   a budget per sync, so a thousand waiting approvals don't cost a thousand calls a tick).
4. The business status comes from the META (or PROFILE) item of each key, 100 keys a call.
5. Rows are upserted in bulk on the unique execution ARN: running it twice, or twice at
   once, converges on the same rows.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from opsconsole.aws import budget, dynamodb, stepfunctions
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.aws.errors import AwsError, StateMachineNotFound
from opsconsole.registry import Registry, SagaKind, get_registry, json_path_get

from . import tickets
from .config import kind_sync
from .models import ACTIVE_STATUSES, Saga, SagaStatus, SyncState, rebuild_counts, refresh_buckets
from .parsing import parse_amount, parse_initiator, text
from .status import StatusInputs, derive_status
from .timeline import Position, TimelineRules, build_timeline, position

log = logging.getLogger(__name__)

FIRST_PAGE_SIZE = 50  # an incremental sync usually needs only the newest few
PAGE_SIZE = 1000  # ListExecutions' maximum
TAIL_EVENTS = 60  # enough for a step with its retries, or a compensation path's end
ACTIVE_REFRESH_BUDGET = 200  # history tails per sync for sagas still running
# History tails per sync for executions that ended other than in success (where they failed,
# what was compensated). Beyond it, in a big first sync, the newest get theirs at once and
# the rest are backfilled by the next syncs: the list is complete first, enriched after.
TERMINAL_TAIL_BUDGET = 300
_BACKFILL_STATUSES = (
    SagaStatus.FAILED,
    SagaStatus.COMPENSATED,
    SagaStatus.COMPENSATION_FAILED,
    SagaStatus.NEEDS_REVIEW,
    SagaStatus.TIMED_OUT,
    SagaStatus.ABORTED,
)
WORKERS = 8  # concurrent AWS calls while describing new executions
# Executions listed but not described yet, described per sync (newest first) as far as the
# budget allows within PENDING_PATIENCE seconds of waiting for it; the rest wait their turn.
PENDING_BATCH = 500
PENDING_PATIENCE = 2.0
# Longer than the event queue's visibility timeout (30 s by default), so that an event whose
# first delivery failed and comes again still arrives before the describe would.
EVENTS_SETTLE_SECONDS = 120.0
UPSERT_BATCH = 500

ProgressFn = Callable[[str, int, int], None]

_UPSERT_FIELDS = [
    "kind",
    "execution_name",
    "state_machine_arn",
    "business_key",
    "correlation_id",
    "initiator_type",
    "initiator_id",
    "ticket",
    "status",
    "sfn_status",
    "current_step",
    "step_entered_at",
    "step_deadline",
    "started_at",
    "stopped_at",
    "last_error",
    "last_cause",
    "business_status",
    "amount",
    "currency",
    "compensation_ran",
    "compensation_failed_step",
    "callback_pending",
    "redrive_count",
    "history_checked_at",
    "synced_at",
    "details_pending",
]


@dataclass
class KindSyncResult:
    kind: str
    listed: int = 0
    new: int = 0
    updated: int = 0
    list_calls: int = 0
    describe_calls: int = 0
    history_calls: int = 0
    dynamodb_calls: int = 0
    seconds: float = 0.0
    error: str = ""
    complete: bool = False
    from_names: int = 0  # rows listed with the business key from the name, described later
    pending: int = 0  # rows still waiting for their describe after this sync
    skipped: bool = False  # the safety net was not due (events keep the kind in sync)

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class _Work:
    """One execution to (re)write: what AWS told us about it this sync."""

    arn: str
    summary: stepfunctions.ExecutionSummary | None = None
    row: Saga | None = None  # the existing row, if any
    describe: bool = True
    tail: bool = True
    execution: stepfunctions.Execution | None = None
    tail_events: list[stepfunctions.HistoryEvent] = field(default_factory=list)
    gone: bool = False
    key_from_name: str | None = None  # listed only: the business key its name carries
    skipped: bool = False  # the budget had no token for it this time


def rules_for(kind: SagaKind, registry: Registry | None = None) -> TimelineRules:
    """The timeline labelling rules of a kind, from the registry."""
    registry = registry or get_registry()
    timeout = next(
        (q.timeout_seconds for q in registry.approval_queues if q.kind == kind.key), None
    )
    return TimelineRules(
        compensation_steps=kind.compensation_steps,
        approval_steps=kind.approval_steps,
        notification_steps=kind.notification_steps,
        step_sla_seconds=dict(kind.step_sla_seconds),
        default_step_sla_seconds=kind.default_step_sla_seconds,
        callback_timeout_seconds=timeout,
        known_steps=frozenset(kind.steps)
        | kind.compensation_steps
        | kind.approval_steps
        | kind.notification_steps,
    )


def progress_key(redrive_count: int, sfn_status: str) -> tuple[int, int]:
    """How far an execution has got: a redrive starts a new round; within one, any end is
    after RUNNING. A status only ever replaces one with a lower key."""
    return (redrive_count or 0, 0 if sfn_status in ("RUNNING", "PENDING_REDRIVE", "") else 1)


def status_item_keys(kind: SagaKind, business_key: str) -> list[dict[str, str]]:
    pk = kind.pk_for(business_key)
    return [{kind.pk_attribute: pk, kind.sort_key_attribute: sk} for sk in kind.status_item_keys]


def fetch_business_statuses(
    kind: SagaKind, business_keys: Iterable[str], env: AwsEnvironment
) -> tuple[dict[str, str], int]:
    """The business status of each key (from its status item: META, PROFILE, or what the
    registry names) and the calls it took; none for a kind without a table."""
    keys = sorted({k for k in business_keys if k})
    if not keys or not kind.table:
        return {}, 0
    wanted = [item_key for k in keys for item_key in status_item_keys(kind, k)]
    items = dynamodb.batch_get_items(kind.table, wanted, env)
    calls = (len(wanted) + 99) // 100
    by_pk: dict[str, dict[str, Any]] = {}
    for item in items:
        pk = str(item.get(kind.pk_attribute, ""))
        sk = str(item.get(kind.sort_key_attribute, ""))
        rank = kind.status_item_keys.index(sk) if sk in kind.status_item_keys else 99
        current = by_pk.get(pk)
        if current is None or rank < current["rank"]:
            by_pk[pk] = {"rank": rank, "item": item}
    out = {}
    for k in keys:
        found = by_pk.get(kind.pk_for(k))
        if found is not None:
            out[k] = str(found["item"].get(kind.status_attribute, "") or "")[:40]
    return out, calls


def resolve_state_machine(kind: SagaKind, env: AwsEnvironment) -> str:
    """The ARN of a kind's state machine (the registry may name it or give its ARN)."""
    if kind.state_machine.startswith("arn:"):
        return kind.state_machine
    for sm in stepfunctions.list_state_machines(env):
        if sm.name == kind.state_machine:
            return sm.arn
    raise StateMachineNotFound(
        f"state machine {kind.state_machine!r} of saga kind {kind.key!r} does not exist"
    )


def _guess_arn(kind: SagaKind, env: AwsEnvironment) -> str | None:
    if kind.state_machine.startswith("arn:"):
        return kind.state_machine
    if env.account_id:
        partition = "aws-cn" if env.region.startswith("cn-") else "aws"
        return (
            f"arn:{partition}:states:{env.region}:{env.account_id}:stateMachine:"
            f"{kind.state_machine}"
        )
    return None


def facts_from_input(kind: SagaKind, document: Any, fallback_key: str) -> dict[str, Any]:
    """The read model's fields that come from the execution input (pure)."""
    initiator = json_path_get(document, kind.initiator_path) if document is not None else None
    initiator_type, initiator_id = parse_initiator(initiator)

    def get(path: str | None) -> Any:
        return json_path_get(document, path) if (path and document is not None) else None

    key = text(get(kind.business_key_path), 200) or fallback_key[:200]
    return {
        "business_key": key,
        "correlation_id": text(get(kind.correlation_id_path), 128),
        "initiator_type": initiator_type,
        "initiator_id": initiator_id,
        "ticket": text(get(kind.ticket_path), 64),
        "amount": parse_amount(get(kind.amount_path)),
        "currency": text(get(kind.currency_path), 3).upper(),
    }


def apply_position(
    row: Saga,
    kind: SagaKind,
    pos: Position | None,
    *,
    sfn_status: str,
    business_status: str | None,
    now: datetime,
) -> None:
    """Set the derived fields of a row (status, step, SLA deadline) from what we know."""
    row.sfn_status = sfn_status
    if pos is not None:
        row.current_step = pos.current_step[:80]
        row.step_entered_at = pos.step_entered_at
        row.callback_pending = pos.callback_pending and sfn_status == "RUNNING"
        row.compensation_ran = row.compensation_ran or pos.compensation_ran
        row.compensation_failed_step = (
            pos.failed_compensation_step[:80] or row.compensation_failed_step
        )
        row.history_checked_at = now
    elif sfn_status == "SUCCEEDED":
        row.current_step = ""
        row.step_entered_at = None
        row.callback_pending = False
    if business_status is not None:
        row.business_status = business_status
    row.status = derive_status(
        StatusInputs(
            sfn_status=sfn_status,
            business_status=row.business_status,
            current_step=row.current_step,
            callback_pending=row.callback_pending,
            compensation_ran=row.compensation_ran,
            compensation_failed=bool(row.compensation_failed_step),
            approval_steps=kind.approval_steps,
            error=row.last_error,
        )
    )
    if row.status in ACTIVE_STATUSES and row.step_entered_at is not None:
        row.step_deadline = row.step_entered_at + timedelta(
            seconds=kind.sla_for(row.current_step or None)
        )
    else:
        row.step_deadline = None


class _Counter:
    def __init__(self) -> None:
        self.describe = 0
        self.history = 0
        # Set when the budget ran out: the works after it are left for a later run too, so
        # the newest get done first and the oldest wait (rather than a random half).
        self.out_of_budget = threading.Event()


def _fetch(work: _Work, env: AwsEnvironment, counter: _Counter) -> _Work:
    if counter.out_of_budget.is_set() and (work.describe or work.tail):
        work.skipped = True
        return work
    try:
        if work.describe:
            counter.describe += 1
            work.execution = stepfunctions.describe_execution(work.arn, env)
            if work.execution is None:
                work.gone = True
                return work
        status = (
            work.execution.status
            if work.execution
            else (work.summary.status if work.summary else "")
        )
        if work.tail and status != "SUCCEEDED":
            counter.history += 1
            work.tail_events = stepfunctions.get_history_tail(work.arn, TAIL_EVENTS, env)
    except budget.BudgetExhausted:
        # Not asked: the share is used up. What it was for stays to do on a later run.
        work.skipped = True
        counter.out_of_budget.set()
        if work.describe and work.execution is None:
            counter.describe -= 1
        else:
            counter.history -= 1
    return work


def _run_fetches(
    works: list[_Work],
    env: AwsEnvironment,
    counter: _Counter,
    progress: ProgressFn | None,
    kind: str,
) -> None:
    if not works:
        return
    total = len(works)
    if progress:
        progress(kind, 0, total)
    if len(works) == 1:
        _fetch(works[0], env, counter)
        if progress:
            progress(kind, 1, total)
        return
    # Each thread runs in a copy of this context: the budget's kind of work goes along.
    contexts = [contextvars.copy_context() for _ in works]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(works))) as pool:
        calls = pool.map(lambda w, c: c.run(_fetch, w, env, counter), works, contexts)
        for done, _ in enumerate(calls, 1):
            if progress and (done % 50 == 0 or done == total):
                progress(kind, done, total)


def _describe_in_order(works: list[_Work], env: AwsEnvironment, counter: _Counter) -> None:
    """Describe the works in their order as far as the budget allows: each call's token is
    reserved in that order before a pool thread makes the call, so what is described is
    always a prefix of `works` (newest first: the oldest work is left for last), however the
    threads are scheduled."""
    if not works:
        return
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(works))) as pool:
        calls = []
        for i, work in enumerate(works):
            try:
                budget.reserve(env.name, "stepfunctions", "DescribeExecution")
            except budget.BudgetExhausted:
                for later in works[i:]:
                    later.skipped = True
                break
            context = contextvars.copy_context()
            context.run(budget.prepay, env.name, "stepfunctions", "DescribeExecution")
            calls.append(pool.submit(context.run, _fetch, work, env, counter))
        for call in calls:
            call.result()


def _row_for(work: _Work, kind: SagaKind, sm_arn: str, now: datetime) -> Saga | None:
    if work.gone:
        return None
    row = work.row
    ex = work.execution
    if row is None and ex is None and work.key_from_name is not None and work.summary:
        summary = work.summary
        return Saga(
            kind=kind.key,
            execution_arn=summary.arn,
            execution_name=summary.name[:80],
            state_machine_arn=summary.state_machine_arn or sm_arn,
            business_key=work.key_from_name[:200],
            started_at=summary.started_at,
            stopped_at=summary.stopped_at,
            redrive_count=summary.redrive_count or 0,
            status=SagaStatus.RUNNING,
            sfn_status=summary.status,
            details_pending=True,
        )
    if row is None:
        if ex is None:
            return None
        row = Saga(
            kind=kind.key,
            execution_arn=ex.arn,
            execution_name=ex.name[:80],
            state_machine_arn=ex.state_machine_arn or sm_arn,
            started_at=ex.started_at,
            status=SagaStatus.RUNNING,
            sfn_status=ex.status,
        )
    if ex is not None:
        row.execution_name = ex.name[:80]
        row.state_machine_arn = ex.state_machine_arn or row.state_machine_arn or sm_arn
        row.started_at = ex.started_at
        row.stopped_at = ex.stopped_at
        row.last_error = text(ex.error, 255)
        row.last_cause = text(ex.cause, 4000)
        row.redrive_count = ex.redrive_count or 0
        if not row.business_key or work.row is None or work.describe:
            for name, value in facts_from_input(kind, ex.input_json(), ex.name).items():
                setattr(row, name, value)
            row.details_pending = False
    elif work.summary is not None:
        row.stopped_at = work.summary.stopped_at
    return row


def sync_kind(
    kind: SagaKind,
    *,
    full: bool = False,
    registry: Registry | None = None,
    progress: ProgressFn | None = None,
    safety_net: bool = False,
) -> KindSyncResult:
    """Bring one kind's read model up to date with AWS (see the module docstring), within
    the sync's share of the call budget.

    `safety_net` (beat's periodic listing of a kind kept current by events): an active row
    whose execution no longer runs is not described at once; its status change event is on
    the way (and says how it ended, with no describe). Only a row still waiting for it
    EVENTS_SETTLE_SECONDS after the first listing that saw it end is described."""
    with budget.work("sync"):
        return _sync_kind(
            kind, full=full, registry=registry, progress=progress, safety_net=safety_net
        )


def _sync_kind(
    kind: SagaKind,
    *,
    full: bool,
    registry: Registry | None,
    progress: ProgressFn | None,
    safety_net: bool = False,
) -> KindSyncResult:
    registry = registry or get_registry()
    env = registry.env_for(kind)
    started = time.monotonic()
    now = timezone.now()
    result = KindSyncResult(kind=kind.key)
    state, _ = SyncState.objects.get_or_create(kind=kind.key)
    counter = _Counter()
    try:
        sm_arn = (
            state.state_machine_arn or _guess_arn(kind, env) or resolve_state_machine(kind, env)
        )
        try:
            works, newest, complete = _list_new(kind, sm_arn, state, full, env, result)
        except StateMachineNotFound:
            if state.state_machine_arn == "" and sm_arn == _guess_arn(kind, env):
                sm_arn = resolve_state_machine(kind, env)
                works, newest, complete = _list_new(kind, sm_arn, state, full, env, result)
            else:
                raise
        awaiting: dict[str, str] | None = None
        if safety_net and not full and kind_sync(registry, kind.key).events_queue:
            awaiting = dict(state.awaiting_events or {})
        works.extend(_active_refresh(kind, sm_arn, works, env, result, now, awaiting))
        if not full:
            _budget_terminal_tails(kind, works)
            _list_only_where_the_name_tells(
                kind, works, registry, events_will_tell=awaiting is not None
            )
        _run_fetches(works, env, counter, progress, kind.key)
        if any(w.skipped and w.row is None and w.key_from_name is None for w in works):
            # New executions the budget left undescribed have no row yet: list them again.
            complete = False

        pairs: list[tuple[_Work, Saga]] = []
        for work in works:
            row = _row_for(work, kind, sm_arn, now)
            if row is not None:
                pairs.append((work, row))
        statuses, ddb_calls = fetch_business_statuses(
            kind, (row.business_key for _, row in pairs), env
        )
        result.dynamodb_calls = ddb_calls
        rules = rules_for(kind, registry)
        for work, row in pairs:
            if work.execution is not None:
                sfn_status = work.execution.status
            elif work.summary is not None:
                sfn_status = work.summary.status
            else:
                sfn_status = row.sfn_status
            apply_position(
                row,
                kind,
                position(build_timeline(work.tail_events, rules), rules.known_steps)
                if work.tail_events
                else None,
                sfn_status=sfn_status,
                business_status=statuses.get(row.business_key),
                now=now,
            )
            row.synced_at = now
            if work.row is None:
                result.new += 1
                result.from_names += 1 if row.details_pending else 0
            else:
                result.updated += 1
        rows = [row for _, row in pairs]
        upsert(rows)
        result.describe_calls += describe_pending(kind, env, registry)
        if full:
            # Also heals a summary that drifted (rows written around the sync and its hooks).
            rebuild_counts(kind.key)
        result.complete = complete
        result.describe_calls += counter.describe
        result.history_calls = counter.history
        result.pending = Saga.objects.filter(kind=kind.key, details_pending=True).count()
        state.state_machine_arn = sm_arn
        if awaiting is not None:
            state.awaiting_events = awaiting
        if (
            complete
            and newest is not None
            and (state.watermark is None or newest > state.watermark)
        ):
            state.watermark = newest
        state.last_attempt_at = now
        state.last_listing_at = now
        state.last_success_at = timezone.now()
        state.last_new = result.new
        state.last_updated = result.updated
        state.last_duration_ms = int((time.monotonic() - started) * 1000)
        # Not the event counters: the consumer moves them meanwhile (F() updates).
        state.save(
            update_fields=[
                "state_machine_arn",
                "awaiting_events",
                "watermark",
                "last_attempt_at",
                "last_listing_at",
                "last_success_at",
                "last_new",
                "last_updated",
                "last_duration_ms",
            ]
        )
    except AwsError as exc:
        result.error = f"{exc.code}: {exc}"[:1000]
        log.warning("sync of %s failed: %s", kind.key, result.error)
        SyncState.objects.filter(pk=state.pk).update(
            last_attempt_at=now,
            last_error=result.error,
            last_error_at=timezone.now(),
            last_duration_ms=int((time.monotonic() - started) * 1000),
        )
    result.seconds = time.monotonic() - started
    return result


def _list_new(
    kind: SagaKind,
    sm_arn: str,
    state: SyncState,
    full: bool,
    env: AwsEnvironment,
    result: KindSyncResult,
) -> tuple[list[_Work], datetime | None, bool]:
    """Page through executions newest first; what must be (re)fetched, the newest start seen,
    and whether the listing reached known ground (or the end)."""
    works: dict[str, _Work] = {}
    newest: datetime | None = None
    token: str | None = None
    events = kind_sync(get_registry(), kind.key).events_queue is not None
    size = PAGE_SIZE if (full or state.watermark is None) else FIRST_PAGE_SIZE
    watermark = None if full else state.watermark
    while True:
        page = stepfunctions.list_executions_page(sm_arn, next_token=token, page_size=size, env=env)
        result.list_calls += 1
        result.listed += len(page.executions)
        arns = [e.arn for e in page.executions]
        known = {s.execution_arn: s for s in Saga.objects.filter(execution_arn__in=arns)}
        stop = False
        for summary in page.executions:
            if newest is None or summary.started_at > newest:
                newest = summary.started_at
            row = known.get(summary.arn)
            # Known and unchanged: a running one gets its step refreshed with the active rows.
            if row is None or full or row.sfn_status != summary.status:
                works[summary.arn] = _Work(
                    arn=summary.arn,
                    summary=summary,
                    row=row,
                    # Kept current by events, a known row's new status is all the listing
                    # needs to say (its error comes with the event): no describe.
                    describe=not (events and row is not None and not full),
                )
            if row is not None and watermark is not None and summary.started_at < watermark:
                stop = True
                break
        if stop or not page.next_token:
            return list(works.values()), newest, True
        token = page.next_token
        size = PAGE_SIZE


def _active_refresh(
    kind: SagaKind,
    sm_arn: str,
    already: list[_Work],
    env: AwsEnvironment,
    result: KindSyncResult,
    now: datetime,
    awaiting: dict[str, str] | None = None,
) -> list[_Work]:
    """Work for rows the read model thinks are active that the listing did not settle.

    `awaiting` (the safety net of a kind kept current by events; updated in place): ended
    executions whose event is awaited, and since when; one is described only once it has
    been awaited EVENTS_SETTLE_SECONDS."""
    taken = {w.arn for w in already}
    active = [
        row
        for row in Saga.objects.filter(kind=kind.key, status__in=ACTIVE_STATUSES).order_by(
            "history_checked_at", "id"
        )
        if row.execution_arn not in taken
    ]
    if not active:
        if awaiting is not None:
            awaiting.clear()
        return []
    running: set[str] = set()
    token: str | None = None
    while True:
        page = stepfunctions.list_executions_page(
            sm_arn, next_token=token, status="RUNNING", page_size=PAGE_SIZE, env=env
        )
        result.list_calls += 1
        running.update(e.arn for e in page.executions)
        token = page.next_token
        if not token:
            break
    works = []
    budget = ACTIVE_REFRESH_BUDGET
    still_awaited: dict[str, str] = {}
    for row in active:
        if row.execution_arn not in running:
            if awaiting is not None:
                since = awaiting.get(row.execution_arn) or now.isoformat()
                try:
                    waited = (now - datetime.fromisoformat(since)).total_seconds()
                except (TypeError, ValueError):  # not a time we wrote: wait from now
                    since, waited = now.isoformat(), 0.0
                if waited < EVENTS_SETTLE_SECONDS:
                    still_awaited[row.execution_arn] = since
                    continue
            # It ended (or was redriven/removed): describe it like a new one.
            works.append(_Work(arn=row.execution_arn, row=row))
        elif budget > 0:
            budget -= 1
            works.append(_Work(arn=row.execution_arn, row=row, describe=False))
    if awaiting is not None:
        # What the events settled (or the listing did) is no longer awaited.
        awaiting.clear()
        awaiting.update(still_awaited)
    return works


def _budget_terminal_tails(kind: SagaKind, works: list[_Work]) -> None:
    """Spend at most TERMINAL_TAIL_BUDGET history reads on ended executions this sync: the
    newest new ones first, then the backlog of rows still without theirs."""
    budget = TERMINAL_TAIL_BUDGET
    for work in works:
        status = work.summary.status if work.summary else ""
        if status in ("FAILED", "TIMED_OUT", "ABORTED"):
            if budget > 0:
                budget -= 1
            else:
                work.tail = False
    if budget <= 0:
        return
    taken = {w.arn for w in works}
    backlog = (
        Saga.objects.filter(
            status__in=_BACKFILL_STATUSES, history_checked_at__isnull=True, kind=kind.key
        )
        .exclude(sfn_status="SUCCEEDED")
        .order_by("-started_at", "-id")[: budget * 2]
    )
    for row in backlog:
        if budget <= 0:
            break
        if row.execution_arn not in taken:
            budget -= 1
            works.append(_Work(arn=row.execution_arn, row=row, describe=False))


def _list_only_where_the_name_tells(
    kind: SagaKind, works: list[_Work], registry: Registry, *, events_will_tell: bool = False
) -> None:
    """New executions whose name carries the business key are written from the listing
    alone; their describe (correlation id, initiator, ticket) comes after, within budget.

    `events_will_tell` (the safety net of a kind kept current by events): every new
    execution is, its name standing in for a key the name does not carry: its event brings
    the input within seconds, and the describe waits for it (`describe_pending`)."""
    settings_of_kind = kind_sync(registry, kind.key)
    if settings_of_kind.name_pattern is None and not events_will_tell:
        return
    for work in works:
        if work.row is None and work.summary is not None:
            key = settings_of_kind.key_from_name(work.summary.name) or (
                work.summary.name if events_will_tell else None
            )
            if key:
                work.describe = False
                work.key_from_name = key


def describe_pending(
    kind: SagaKind,
    env: AwsEnvironment,
    registry: Registry | None = None,
    *,
    limit: int = PENDING_BATCH,
    patience: float = PENDING_PATIENCE,
    settle: float | None = None,
) -> int:
    """Describe rows still waiting for their input's facts, newest first (the oldest work
    last), as far as the backfill's share of the budget allows now; the DescribeExecution
    calls it made. Safe to run twice: a described row is no longer pending.

    For a kind kept current by events, once past its first listing, an execution started in
    the last `settle` seconds (EVENTS_SETTLE_SECONDS) waits: the safety net may have listed
    it just before its event arrived, which carries the input and makes the describe
    needless."""
    registry = registry or get_registry()
    pending = Saga.objects.filter(kind=kind.key, details_pending=True)
    if settle is None:
        settle = 0.0
        if kind_sync(registry, kind.key).events_queue:
            listed = SyncState.objects.filter(kind=kind.key, last_listing_at__isnull=False).exists()
            settle = EVENTS_SETTLE_SECONDS if listed else 0.0
    if settle > 0:
        pending = pending.filter(started_at__lte=timezone.now() - timedelta(seconds=settle))
    rows = list(pending.order_by("-started_at", "-id")[:limit])
    if not rows:
        return 0
    counter = _Counter()
    works = [_Work(arn=r.execution_arn, row=r, tail=False) for r in rows]
    with budget.work("backfill"), budget.patience(patience):
        _describe_in_order(works, env, counter)
    now = timezone.now()
    changed: list[Saga] = []
    for work in works:
        row = work.row
        if row is None or work.skipped:
            continue
        ex = work.execution
        row.details_pending = False
        if ex is not None:
            fallback = row.business_key or ex.name
            for name, value in facts_from_input(kind, ex.input_json(), fallback).items():
                setattr(row, name, value)
            sfn_status = row.sfn_status
            if progress_key(ex.redrive_count, ex.status) >= progress_key(
                row.redrive_count, row.sfn_status
            ):
                sfn_status = ex.status
                row.stopped_at = ex.stopped_at
                row.redrive_count = ex.redrive_count or 0
                row.last_error = text(ex.error, 255)
                row.last_cause = text(ex.cause, 4000)
            # The error may change the status (a timeout is not a failure).
            apply_position(row, kind, None, sfn_status=sfn_status, business_status=None, now=now)
        row.synced_at = now
        changed.append(row)
    upsert(changed)
    return counter.describe


# What a status change moves (kept from the stored row when the writer is behind it), and the
# facts of the input (kept from the stored row when the writer has only the listing's).
_PROGRESS_FIELDS = (
    "status",
    "sfn_status",
    "current_step",
    "step_entered_at",
    "step_deadline",
    "stopped_at",
    "last_error",
    "last_cause",
    "business_status",
    "compensation_ran",
    "compensation_failed_step",
    "callback_pending",
    "redrive_count",
    "history_checked_at",
)
_FACT_FIELDS = (
    "business_key",
    "correlation_id",
    "initiator_type",
    "initiator_id",
    "ticket",
    "amount",
    "currency",
)


def forward_only(row: Saga, stored: Saga | None) -> Saga:
    """`row` as it may be written over `stored`: a status only ever moves forward (a listing
    or describe read before an event was applied is behind it, and keeps the event's
    status), and facts read from the input are never replaced by a listing's lack of them."""
    if stored is None:
        return row
    if progress_key(stored.redrive_count, stored.sfn_status) > progress_key(
        row.redrive_count, row.sfn_status
    ):
        for name in _PROGRESS_FIELDS:
            setattr(row, name, getattr(stored, name))
    if row.details_pending and not stored.details_pending:
        for name in _FACT_FIELDS:
            setattr(row, name, getattr(stored, name))
        row.details_pending = False
    if stored.synced_at is not None and (row.synced_at is None or row.synced_at < stored.synced_at):
        row.synced_at = stored.synced_at  # a writer that began earlier does not age the row
    return row


def _lock_writers(kinds: Iterable[str]) -> None:
    """Serialise the read model's writers of a kind (the sync, the event consumer), so what
    one read before it writes is what it writes over (PostgreSQL; SQLite's transactions
    here begin IMMEDIATE, one writer at a time)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for kind in sorted(set(kinds)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ["saga-sync:" + kind])


def upsert(rows: list[Saga]) -> None:
    """Insert or update rows on their execution ARN, in batches (idempotent, a status never
    moves back: `forward_only`), and recount the tab counts of the days they left or entered
    in the same transaction."""
    with transaction.atomic():
        _lock_writers(r.kind for r in rows)
        touched: list[tuple[str, datetime]] = []
        for start in range(0, len(rows), UPSERT_BATCH):
            batch = rows[start : start + UPSERT_BATCH]
            stored = {
                s.execution_arn: s
                for s in Saga.objects.filter(execution_arn__in=[r.execution_arn for r in batch])
            }
            batch = [forward_only(r, stored.get(r.execution_arn)) for r in batch]
            before = {arn: s.status for arn, s in stored.items()}  # for the events
            touched.extend((s.kind, s.started_at) for s in stored.values())
            touched.extend((r.kind, r.started_at) for r in batch)
            Saga.objects.bulk_create(
                batch,
                update_conflicts=True,
                unique_fields=["execution_arn"],
                update_fields=_UPSERT_FIELDS,
            )
            tickets.emit_status_changes(before, batch)
        refresh_buckets(touched)


def sync_all(
    *,
    kind: str | None = None,
    full: bool = False,
    progress: ProgressFn | None = None,
    periodic: bool = False,
) -> list[KindSyncResult]:
    """Sync every kind in the registry (or one), each independently of the others' errors.

    `periodic` (beat): a kind whose status change events the console consumes is listed only
    once per safety-net interval (events keep it current in between); its pending describes
    still progress every time."""
    registry = get_registry()
    kinds = [registry.kinds[kind]] if kind else list(registry.kinds.values())
    results = []
    for k in kinds:
        if periodic and not full and not _safety_net_due(k, registry):
            results.append(_pending_only(k, registry))
        else:
            results.append(
                sync_kind(k, full=full, registry=registry, progress=progress, safety_net=periodic)
            )
    return results


def _safety_net_due(kind: SagaKind, registry: Registry) -> bool:
    if kind_sync(registry, kind.key).events_queue is None:
        return True
    state = SyncState.objects.filter(kind=kind.key).first()
    if state is None or state.last_listing_at is None or state.is_failing:
        return True
    age = (timezone.now() - state.last_listing_at).total_seconds()
    return age >= settings.SYNC_SAFETY_NET_SECONDS


def _pending_only(kind: SagaKind, registry: Registry) -> KindSyncResult:
    started = time.monotonic()
    result = KindSyncResult(kind=kind.key, skipped=True, complete=True)
    try:
        result.describe_calls = describe_pending(kind, registry.env_for(kind), registry)
    except AwsError as exc:
        result.error = f"{exc.code}: {exc}"[:1000]
    result.pending = Saga.objects.filter(kind=kind.key, details_pending=True).count()
    result.seconds = time.monotonic() - started
    return result
