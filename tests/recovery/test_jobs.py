"""The job framework: every item gets one outcome, once, whatever happens to the runner."""

from __future__ import annotations

from typing import Any

import pytest

from opsconsole import events
from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent
from opsconsole.errors import InvalidInput, PermissionRefused
from opsconsole.recovery import jobs
from opsconsole.recovery.models import Job, JobItem

pytestmark = pytest.mark.django_db(transaction=True)

OLGA = Actor(type="user", id="olga@example.com", role="operator")
VERA = Actor(type="user", id="vera@example.com", role="viewer")


class Recorder(jobs.Handler):
    """Acts on items by remembering them; item "boom" raises, "bad" fails, "later" waits."""

    kind = "test.record"
    label = "Record items"
    chunk_size = 3

    def __init__(self) -> None:
        self.done: list[str] = []
        self.settled: set[str] = set()
        self.crash_after: int | None = None

    def run_chunk(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        for item in items:
            if item.key == "boom":
                raise RuntimeError("the queue went away")
            ctx.checkpoint(item, "acting")
            if self.crash_after is not None and len(self.done) >= self.crash_after:
                raise SystemExit("worker killed")  # not an Exception: nothing is flushed
            self.done.append(item.key)
            if item.key == "bad":
                ctx.failed(item, error="refused by AWS")
            elif item.key.startswith("later"):
                ctx.waiting(item, started="yes")
            else:
                ctx.succeeded(item, n=len(self.done))

    def recover(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        # The side effect is "done" appending: an item checkpointed and present happened.
        for item in items:
            if item.key in self.done:
                ctx.succeeded(item, recovered=True)
            else:
                ctx.retry(item)

    def verify(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        for item in items:
            if item.key in self.settled:
                ctx.succeeded(item, verified=True)


@pytest.fixture
def handler():
    h = Recorder()
    jobs.register(h)
    yield h
    jobs._handlers.pop(h.kind, None)


@pytest.fixture
def finished_events():
    seen: list[events.DomainEvent] = []
    events.subscribe("test-jobs", seen.append, types=["job.finished"])
    yield seen
    events.unsubscribe("test-jobs")


def submit(keys: list[str], key: str = "k1", **kw: Any) -> tuple[Job, bool]:
    return jobs.submit(
        "test.record",
        actor=OLGA,
        items=((k, {"k": k}) for k in keys),
        idempotency_key=key,
        ticket="INC001",
        reason="testing",
        preview={"eligible": len(keys)},
        **kw,
    )


def test_it_acts_on_every_item_once_and_records_each_outcome(handler, finished_events):
    keys = [f"m{i}" for i in range(7)] + ["bad"]
    job, created = submit(keys)  # eager Celery: runs on commit

    job.refresh_from_db()
    assert created
    assert job.state == Job.FINISHED
    assert sorted(handler.done) == sorted(keys)
    assert job.counts() == {
        "total": 8,
        "pending": 0,
        "running": 0,
        "succeeded": 7,
        "failed": 1,
        "skipped": 0,
        "waiting": 0,
        "cancelled": 0,
    }
    assert job.progress_percent == 100
    bad = job.items.get(key="bad")
    assert (bad.state, bad.error) == (JobItem.FAILED, "refused by AWS")
    outcomes = AuditEvent.objects.filter(attempt_id=job.attempt_id).order_by("id")
    assert [e.result for e in outcomes] == ["started", "failed"]
    assert outcomes[0].ticket == "INC001"
    assert [e.data["counts"]["failed"] for e in finished_events] == [1]


def test_submitting_the_same_request_twice_runs_it_once(handler):
    first, created = submit(["a", "b"])
    again, created_again = submit(["a", "b"])
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert sorted(handler.done) == ["a", "b"]
    assert Job.objects.count() == 1


def test_an_error_fails_the_chunks_unfinished_items_and_the_job_goes_on(handler):
    job, _ = submit(["a", "boom", "c", "d", "e", "f"])
    job.refresh_from_db()
    states = dict(job.items.values_list("key", "state"))
    assert states == {
        "a": "succeeded",
        "boom": "failed",
        "c": "failed",  # c was in boom's chunk
        "d": "succeeded",
        "e": "succeeded",
        "f": "succeeded",
    }
    assert "the queue went away" in job.items.get(key="c").error
    assert job.state == Job.FINISHED


def test_a_killed_runner_is_resumed_without_doing_an_item_twice(handler, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # submit only queues; we run by hand
    job, _ = submit([f"m{i}" for i in range(8)])
    handler.crash_after = 4  # dies inside the second chunk, after checkpointing m4
    with pytest.raises(SystemExit):
        jobs.run(job.pk)
    stranded = dict(job.items.filter(state=JobItem.RUNNING).values_list("key", "checkpoint"))
    assert set(stranded) == {"m3", "m4", "m5"}  # the chunk in flight
    Job.objects.filter(pk=job.pk).update(lease_until=None)  # the dead worker's lease ran out
    handler.crash_after = None

    assert job.pk in jobs.stalled_jobs(grace=jobs.timedelta(0))
    assert jobs.run(job.pk) == "done"

    job.refresh_from_db()
    assert job.state == Job.FINISHED and job.succeeded == 8
    assert sorted(handler.done) == sorted(f"m{i}" for i in range(8))  # each once
    assert job.items.get(key="m3").result == {"recovered": True}


def test_a_second_runner_leaves_a_job_whose_lease_is_held(handler, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    job, _ = submit(["a", "b"])
    assert jobs._acquire(job.pk, "first-runner")
    assert jobs.run(job.pk) == "done"
    assert handler.done == []


def test_pause_stops_taking_chunks_and_resume_finishes(handler, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    job, _ = submit([f"m{i}" for i in range(6)])
    jobs.pause(job, OLGA)
    assert jobs.run(job.pk) == "done" and handler.done == []
    settings.CELERY_TASK_ALWAYS_EAGER = True
    jobs.resume(job, OLGA)
    job.refresh_from_db()
    assert job.state == Job.FINISHED and len(handler.done) == 6
    steering = AuditEvent.objects.filter(action__startswith="job.", target_id=str(job.pk))
    assert sorted(steering.values_list("action", flat=True)) == ["job.pause", "job.resume"]


def test_cancel_cancels_what_was_not_taken_and_refuses_a_second_cancel(handler, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    job, _ = submit([f"m{i}" for i in range(5)])
    jobs.cancel(job, OLGA)
    job.refresh_from_db()
    assert job.state == Job.CANCELLED and job.cancelled == 5
    assert jobs.run(job.pk) == "done" and handler.done == []
    with pytest.raises(jobs.JobStateConflict):
        jobs.cancel(job, OLGA)


def test_waiting_items_keep_the_job_verifying_until_their_outcome_is_known(handler):
    job, _ = submit(["a", "later-1", "later-2"])
    job.refresh_from_db()
    assert job.state == Job.VERIFYING and job.waiting == 2
    handler.settled = {"later-1"}
    assert jobs.verify_waiting() == 1
    job.refresh_from_db()
    assert job.state == Job.VERIFYING
    handler.settled = {"later-1", "later-2"}
    jobs.verify_waiting()
    job.refresh_from_db()
    assert job.state == Job.FINISHED and job.succeeded == 3
    assert job.items.get(key="later-2").result == {"started": "yes", "verified": True}


def test_only_operators_submit_or_steer_and_a_rate_must_be_positive(handler):
    with pytest.raises(PermissionRefused):
        jobs.submit("test.record", actor=VERA, items=[("a", {})], idempotency_key="x")
    with pytest.raises(InvalidInput):
        submit(["a"], key="y", rate_per_second=0)
    job, _ = submit(["a"], key="z")
    with pytest.raises(PermissionRefused):
        jobs.cancel(job, VERA)
