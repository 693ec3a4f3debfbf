"""Long recovery actions as jobs: written first, worked in resumable chunks, never twice.

A job is what a person confirmed: a `Job` row (kind, who, ticket, reason, the previewed
impact, a rate) and one `JobItem` per thing to act on, all written by `submit` in one
transaction with the audit record of the intent. Celery then works it (`run`): it takes the
job's lease, claims a chunk of pending items (state RUNNING, committed), hands them to the
kind's `Handler`, and writes each item's outcome and the job's counters together. Between
chunks it honours pause and cancel, and paces itself to the job's rate.

Nothing is done twice:
- an item is claimed by a conditional update from PENDING, so two runners never share one;
- the job has one runner at a time (a lease renewed every chunk), so a redelivered task
  waits for the lease instead of racing the first;
- a handler writes a checkpoint (committed at once) before a side effect that must not
  repeat; a worker killed mid-chunk leaves its items RUNNING with their checkpoints, and the
  next runner (the redelivered task, or the sweep once the lease has run out) hands exactly
  those to `Handler.recover`, which decides from the checkpoint what already happened.

An item's outcome is succeeded, failed, skipped, cancelled or waiting: the action was taken
and its effect is verified later (`Handler.verify`, called by the sweep), e.g. a redriven
saga that must reach a terminal state before it counts as recovered. A job with waiting
items is VERIFYING until they settle, then FINISHED.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from itertools import islice
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Field, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from opsconsole import events
from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent
from opsconsole.aws import budget
from opsconsole.errors import DomainError, InvalidInput, NotFound, PermissionRefused
from opsconsole.identity.roles import ADMIN, OPERATOR

from .models import Job, JobItem

log = logging.getLogger(__name__)

OPERATOR_ROLES = (OPERATOR, ADMIN)
LEASE = timedelta(seconds=60)
INSERT_BATCH = 2000


class JobStateConflict(DomainError):
    """Pause, resume or cancel asked of a job in a state where it means nothing."""

    code = "job.state_conflict"


class JobNotFound(NotFound):
    code = "job.not_found"


class Handler:
    """What one kind of job does to its items; subclass, set `kind`, implement `run_chunk`."""

    kind: str = ""
    label: str = ""
    chunk_size: int = 20

    def run_chunk(self, ctx: Context, items: list[JobItem]) -> None:
        """Act on claimed items and record one outcome for each with `ctx`."""
        raise NotImplementedError

    def recover(self, ctx: Context, items: list[JobItem]) -> None:
        """Items a killed runner left RUNNING: redo those that never reached a side effect."""
        for item in items:
            if item.checkpoint:
                ctx.failed(item, error="interrupted after it had started; check by hand")
            else:
                ctx.retry(item)

    def verify(self, ctx: Context, items: list[JobItem]) -> None:
        """Settle WAITING items whose outcome is now known; leave the others waiting."""


_handlers: dict[str, Handler] = {}


def register(handler: Handler) -> None:
    """Make a kind of job runnable (call from the owning app's `ready()`)."""
    if not handler.kind:
        raise ValueError("a job handler needs a kind")
    _handlers[handler.kind] = handler


def handler_for(kind: str) -> Handler:
    try:
        return _handlers[kind]
    except KeyError:
        raise LookupError(f"no job handler registered for {kind!r}") from None


def label_for(kind: str) -> str:
    handler = _handlers.get(kind)
    return (handler.label if handler else "") or kind


class Context:
    """What a handler uses to record progress and outcomes for the items it was given."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._outcomes: dict[int, tuple[str, dict[str, Any], str]] = {}

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    def checkpoint(self, items: JobItem | Iterable[JobItem], step: str, **data: Any) -> None:
        """Persist, now, where these items are: call before a side effect that must not repeat."""
        group = [items] if isinstance(items, JobItem) else list(items)
        now = timezone.now()
        for item in group:
            item.checkpoint = {**item.checkpoint, "step": step, **data}
            item.updated_at = now
        with transaction.atomic():
            _write_items(group, ("checkpoint", "updated_at"))

    def succeeded(self, item: JobItem, **result: Any) -> None:
        self._outcomes[item.pk] = (JobItem.SUCCEEDED, result, "")

    def failed(self, item: JobItem, error: str, **result: Any) -> None:
        self._outcomes[item.pk] = (JobItem.FAILED, result, error[:2000])

    def skipped(self, item: JobItem, reason: str, **result: Any) -> None:
        self._outcomes[item.pk] = (JobItem.SKIPPED, {"reason": reason, **result}, "")

    def waiting(self, item: JobItem, **result: Any) -> None:
        self._outcomes[item.pk] = (JobItem.WAITING, result, "")

    def retry(self, item: JobItem) -> None:
        """Put the item back in the queue: only when redoing it from the start is safe."""
        self._outcomes[item.pk] = (JobItem.PENDING, {}, "")

    def _flush(self, items: list[JobItem], unrecorded_error: str | None) -> None:
        """Write the items' outcomes and the job's counters in one transaction.

        Items the handler gave no outcome stay as they were (RUNNING) unless an error ended
        the chunk, which fails them with its message: a handler bug must not strand items."""
        changed: list[JobItem] = []
        delta: dict[str, int] = {}
        for item in items:
            outcome = self._outcomes.get(item.pk)
            if outcome is None:
                if unrecorded_error is None:
                    continue
                outcome = (JobItem.FAILED, {}, unrecorded_error[:2000])
            state, result, error = outcome
            if state == item.state:
                if state == JobItem.WAITING and result:
                    item.result = {**item.result, **result}
                    item.updated_at = timezone.now()
                    changed.append(item)
                continue
            for old_or_new, sign in ((item.state, -1), (state, 1)):
                column = _COUNTER.get(old_or_new)
                if column:
                    delta[column] = delta.get(column, 0) + sign
            # A verified outcome adds to what the action recorded; a fresh one replaces it.
            keep = JobItem.WAITING in (item.state, state)
            item.result = {**item.result, **result} if keep else result
            item.state = state
            item.error = error
            if state == JobItem.PENDING:
                item.checkpoint = {}
            item.updated_at = timezone.now()
            changed.append(item)
        self._outcomes.clear()
        if not changed:
            return
        with transaction.atomic():
            _write_items(changed, ("state", "result", "error", "checkpoint", "updated_at"))
            if delta:
                Job.objects.filter(pk=self.job.pk).update(
                    **{column: F(column) + n for column, n in delta.items()}
                )


def _write_items(items: list[JobItem], columns: tuple[str, ...]) -> None:
    """Save these columns of these items: one UPDATE statement run once per row.

    What `bulk_update` does with one statement of CASE expressions, which for a chunk of 50
    items costs more to build than to run (a 10,000-message redrive writes 600 chunks)."""
    fields: list[Field[Any, Any]] = []
    for name in columns:
        found = JobItem._meta.get_field(name)
        if not isinstance(found, Field):  # concrete columns only, never relations
            raise TypeError(f"{name} is not a column of JobItem")
        fields.append(found)
    assignments = ", ".join(f"{connection.ops.quote_name(f.column or f.name)} = %s" for f in fields)
    table = connection.ops.quote_name(JobItem._meta.db_table)
    rows = [
        [f.get_db_prep_save(getattr(item, f.attname), connection) for f in fields] + [item.pk]
        for item in items
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", rows)  # noqa: S608


# The job counter each item state is counted in (RUNNING is what is left over).
_COUNTER = {
    JobItem.PENDING: "pending",
    JobItem.SUCCEEDED: "succeeded",
    JobItem.FAILED: "failed",
    JobItem.SKIPPED: "skipped",
    JobItem.WAITING: "waiting",
    JobItem.CANCELLED: "cancelled",
}


# --- submitting and steering ------------------------------------------------------------


def _require_operator(actor: Actor) -> None:
    if actor.role not in OPERATOR_ROLES:
        raise PermissionRefused(needed=list(OPERATOR_ROLES), role=actor.role)


def submit(
    kind: str,
    *,
    actor: Actor,
    items: Iterable[tuple[str, dict[str, Any]]],
    idempotency_key: str,
    params: dict[str, Any] | None = None,
    preview: dict[str, Any] | None = None,
    ticket: str = "",
    reason: str = "",
    rate_per_second: float | None = None,
    target: tuple[str, str] = ("", ""),
) -> tuple[Job, bool]:
    """Write a job and all its items, audit the intent, and start it once committed.

    The same idempotency key returns the job already submitted (created False), so a
    double click or a client's retry never starts the work twice."""
    handler_for(kind)
    _require_operator(actor)
    if not idempotency_key:
        raise InvalidInput({"idempotency_key": ["An idempotency key is required."]})
    if rate_per_second is not None and rate_per_second <= 0:
        raise InvalidInput({"rate_per_second": ["The rate must be more than 0 per second."]})
    existing = Job.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing, False
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            idempotency_key=idempotency_key[:200],
            actor_type=actor.type,
            actor=actor.id,
            actor_role=actor.role,
            ticket=ticket[:64],
            reason=reason,
            target_type=target[0][:32],
            target_id=target[1][:512],
            params=params or {},
            preview=preview or {},
            rate_per_second=rate_per_second,
        )
        total = 0
        rows = iter(items)
        while batch := list(islice(rows, INSERT_BATCH)):
            JobItem.objects.bulk_create(
                JobItem(job=job, seq=total + n, key=str(key)[:512], payload=payload)
                for n, (key, payload) in enumerate(batch)
            )
            total += len(batch)
        Job.objects.filter(pk=job.pk).update(total=total, pending=total)
        job.total = job.pending = total
        _attempt(job)._write(
            AuditEvent.STARTED, details={"job": job.pk, "items": total, **job.preview}
        )
        transaction.on_commit(lambda: _enqueue(job.pk))
    return job, True


def get(job_id: int | str) -> Job:
    try:
        pk = int(job_id)
    except (TypeError, ValueError):
        raise JobNotFound(job_id=str(job_id)) from None
    job = Job.objects.filter(pk=pk).first()
    if job is None:
        raise JobNotFound(job_id=pk)
    return job


def pause(job: Job, actor: Actor) -> Job:
    """Stop taking new chunks; what is in flight finishes."""
    return _steer(job, actor, "pause", {Job.PENDING, Job.RUNNING}, Job.PAUSED)


def resume(job: Job, actor: Actor) -> Job:
    job = _steer(job, actor, "resume", {Job.PAUSED}, Job.RUNNING)
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def cancel(job: Job, actor: Actor) -> Job:
    """Cancel every item not yet taken; items in flight still get their outcome."""
    job = _steer(job, actor, "cancel", set(Job.ACTIVE), Job.CANCELLED)
    with transaction.atomic():
        n = JobItem.objects.filter(job=job, state=JobItem.PENDING).update(
            state=JobItem.CANCELLED, error="cancelled before it started"
        )
        Job.objects.filter(pk=job.pk).update(pending=F("pending") - n, cancelled=F("cancelled") + n)
        # Waiting items stay waiting: their action happened; the sweep still settles them.
        _finish(Job.objects.get(pk=job.pk), Job.CANCELLED)
    job.refresh_from_db()
    return job


def _steer(job: Job, actor: Actor, verb: str, allowed: set[str], new_state: str) -> Job:
    _require_operator(actor)
    with transaction.atomic():
        locked = Job.objects.select_for_update().get(pk=job.pk)
        if locked.state not in allowed:
            audit.record(
                actor,
                f"job.{verb}",
                result=AuditEvent.REFUSED,
                target_type="job",
                target_id=str(job.pk),
                error=JobStateConflict.code,
                details={"state": locked.state},
            )
            raise JobStateConflict(job_id=job.pk, state=locked.state, action=verb)
        was = locked.state
        if new_state != Job.CANCELLED:
            locked.state = new_state
            locked.save(update_fields=["state", "updated_at"])
        audit.record(
            actor,
            f"job.{verb}",
            result=AuditEvent.SUCCEEDED,
            target_type="job",
            target_id=str(job.pk),
            ticket=job.ticket,
            details={"kind": job.kind, "was": was},
        )
    return locked


# --- working a job ----------------------------------------------------------------------


def _enqueue(job_id: int) -> None:
    run_job.delay(job_id)


def _attempt(job: Job) -> audit.Attempt:
    actor = Actor(type=job.actor_type, id=job.actor, role=job.actor_role)
    return audit.Attempt(
        job.attempt_id,
        actor,
        job.kind,
        job.target_type or "job",
        job.target_id or str(job.pk),
        ticket=job.ticket,
        reason=job.reason,
        details={"job": job.pk},
    )


def _acquire(job_id: int, runner: str) -> bool:
    now = timezone.now()
    free = Job.objects.filter(pk=job_id, state__in=(Job.PENDING, Job.RUNNING)).exclude(
        lease_until__gt=now
    )
    return bool(
        free.update(
            runner=runner,
            lease_until=now + LEASE,
            state=Job.RUNNING,
            started_at=Coalesce(F("started_at"), Value(now)),
        )
    )


def _renew(job_id: int, runner: str) -> bool:
    return bool(
        Job.objects.filter(pk=job_id, runner=runner).update(lease_until=timezone.now() + LEASE)
    )


def _release(job_id: int, runner: str) -> None:
    Job.objects.filter(pk=job_id, runner=runner).update(runner="", lease_until=None)


def _claim(job: Job, n: int) -> list[JobItem]:
    ids = list(
        JobItem.objects.filter(job=job, state=JobItem.PENDING)
        .order_by("seq")
        .values_list("pk", flat=True)[:n]
    )
    if not ids:
        return []
    with transaction.atomic():
        taken = JobItem.objects.filter(pk__in=ids, state=JobItem.PENDING).update(
            state=JobItem.RUNNING, attempts=F("attempts") + 1
        )
        Job.objects.filter(pk=job.pk).update(pending=F("pending") - taken)
    return list(JobItem.objects.filter(pk__in=ids, state=JobItem.RUNNING).order_by("seq"))


def _slice_seconds() -> float:
    return float(getattr(settings, "OPSCONSOLE_JOB_SLICE_SECONDS", 30.0))


@budget.charged_to("recovery")
def run(job_id: int) -> str:
    """Work the job for one slice of time; returns what the caller should do next:
    "continue" (queue another run), or "done" (finished, paused, cancelled, or held by
    another runner). Every AWS call of every handler is charged to the recovery share of
    the budget (opsconsole.aws.budget): a job never starves the workload."""
    runner = uuid.uuid4().hex
    if not _acquire(job_id, runner):
        return "done"
    try:
        job = Job.objects.get(pk=job_id)
        handler = handler_for(job.kind)
        stranded = list(JobItem.objects.filter(job=job, state=JobItem.RUNNING).order_by("seq"))
        if stranded:
            ctx = Context(job)
            handler.recover(ctx, stranded)
            ctx._flush(stranded, None)
        started = time.monotonic()
        acted = 0
        while True:
            job.refresh_from_db()
            if job.state != Job.RUNNING or job.runner != runner:
                return "done"
            items = _claim(job, handler.chunk_size)
            if not items:
                break
            ctx = Context(job)
            try:
                handler.run_chunk(ctx, items)
            except Exception as exc:
                log.warning("job %s chunk failed: %s", job.pk, exc)
                ctx._flush(items, f"{type(exc).__name__}: {exc}")
            else:
                ctx._flush(items, "the handler recorded no outcome")
            acted += len(items)
            if not _renew(job.pk, runner):
                return "done"
            _pace(job, acted, started)
            if time.monotonic() - started > _slice_seconds():
                return "continue"
        job.refresh_from_db()
        with transaction.atomic():
            _settle(Job.objects.select_for_update().get(pk=job.pk))
        return "done"
    finally:
        _release(job_id, runner)


def _pace(job: Job, acted: int, started: float) -> None:
    """Sleep so that the items acted on stay within the job's rate (checking pause/cancel)."""
    if not job.rate_per_second:
        return
    due = started + acted / job.rate_per_second
    while (wait := due - time.monotonic()) > 0:
        time.sleep(min(wait, 0.5))
        if wait > 0.5 and Job.objects.filter(pk=job.pk, state=Job.RUNNING).count() == 0:
            return


def _settle(job: Job) -> None:
    """Finish a job with no pending or running items (VERIFYING while any are waiting)."""
    counts = job.counts()
    if counts["pending"] or counts["running"] or not job.is_active:
        return
    if job.waiting:
        if job.state != Job.VERIFYING:
            job.state = Job.VERIFYING
            job.save(update_fields=["state", "updated_at"])
        return
    _finish(job, Job.FINISHED)


def _finish(job: Job, state: str) -> None:
    """Mark the job ended, write the audit outcome and emit `job.finished` (in a transaction)."""
    job.state = state
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "finished_at", "updated_at"])
    counts = job.counts()
    attempt = _attempt(job)
    if state == Job.FINISHED and not job.failed:
        attempt.succeeded(**counts)
    else:
        attempt.failed(
            "cancelled" if state == Job.CANCELLED else f"{job.failed} of {job.total} failed",
            **counts,
        )
    events.emit(
        "job.finished",
        target=events.Target(
            type="job",
            id=str(job.pk),
            label=f"{label_for(job.kind)} #{job.pk}",
            url=reverse("recovery:job", args=[job.pk]),
        ),
        actor=Actor(type=job.actor_type, id=job.actor, role=job.actor_role),
        data={"kind": job.kind, "state": state, "counts": counts, "ticket": job.ticket},
    )


@budget.charged_to("recovery")
def verify_waiting(limit: int = 500) -> int:
    """Give each job's WAITING items to its handler's `verify`; settle jobs that are done."""
    settled = 0
    for job in Job.objects.filter(waiting__gt=0).order_by("pk"):
        items = list(JobItem.objects.filter(job=job, state=JobItem.WAITING).order_by("seq")[:limit])
        handler = _handlers.get(job.kind)
        if handler is None or not items:
            continue
        ctx = Context(job)
        handler.verify(ctx, items)
        before = job.waiting
        ctx._flush(items, None)
        job.refresh_from_db()
        settled += before - job.waiting
        if job.state == Job.VERIFYING and not job.waiting:
            with transaction.atomic():
                _finish(Job.objects.select_for_update().get(pk=job.pk), Job.FINISHED)
    return settled


def stalled_jobs(grace: timedelta = timedelta(seconds=10)) -> list[int]:
    """Jobs that should be running but have no runner: a killed worker's (its lease ran
    out) or a lost task's. Queuing one twice is harmless: one runner takes the lease."""
    now = timezone.now()
    return list(
        Job.objects.filter(state__in=(Job.PENDING, Job.RUNNING), created_at__lt=now - grace)
        .exclude(lease_until__gt=now)
        .values_list("pk", flat=True)
    )


# --- the Celery tasks (here, not in tasks.py, which only re-exports them: submitting a job
# queues its runner, and the runner runs jobs; one module keeps that loop acyclic) ---------


@shared_task(name="opsconsole.recovery.tasks.run_job", ignore_result=True, acks_late=True)
def run_job(job_id: int) -> str:
    """Work a job for one slice, then queue the next slice (so pause, cancel and other jobs
    get their turn). Safe to run twice: a second copy finds the lease taken and leaves."""
    outcome = run(job_id)
    if outcome == "continue":
        run_job.delay(job_id)
    return outcome


@shared_task(name="opsconsole.recovery.tasks.tend_jobs", ignore_result=True)
def tend_jobs() -> int:
    """Settle waiting items, and restart jobs whose runner died."""
    for job_id in stalled_jobs():
        run_job.delay(job_id)
    return verify_waiting()
