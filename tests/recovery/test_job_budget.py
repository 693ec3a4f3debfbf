"""Recovery jobs and the periodic tasks of recovery and monitoring make their AWS calls
inside their own share of the budget (opsconsole.aws.budget): the admin's usage shows them
under their kind of work, and a job that would go faster is held to its share."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from opsconsole.aws import budget
from opsconsole.emulator import throttling
from opsconsole.monitoring import tasks as monitoring_tasks
from opsconsole.recovery import jobs
from opsconsole.recovery import tasks as recovery_tasks
from opsconsole.recovery.models import Job
from tests.recovery.test_executions_bulk import _submit, five_failed  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

# The recovery share below: half of a 2-token, 4-a-second RedriveExecution quota, i.e. a
# bucket of 1 token refilled 2 times a second.
BURST, RATE = 1.0, 2.0


@pytest.fixture
def budget_on(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.AWS_BUDGET_ENABLED = True
    settings.AWS_BUDGET_FILE = tmp_path / "budget.sqlite3"
    settings.AWS_BUDGET_REDIS_URL = ""
    settings.AWS_QUOTAS = {"stepfunctions.RedriveExecution": (2, 4)}
    settings.AWS_BUDGET_SHARES = {"recovery": 0.5, "other": 1.0, "monitoring": 0.5}
    settings.AWS_BUDGET_MAX_WAIT = 30.0
    budget.reset()
    yield
    budget.reset()


def test_a_recovery_job_is_charged_to_the_recovery_share_and_held_to_it(
    five_failed,  # noqa: F811 - the fixture imported above
    budget_on,
):
    job = _submit()
    with throttling.enabled({}):  # not throttling, only counting what AWS was asked
        began = time.monotonic()
        assert jobs.run(job.pk) == "done"
        elapsed = time.monotonic() - began
        served = throttling.counters()["served"]
    assert Job.objects.get(pk=job.pk).counts()["failed"] == 0
    usage = {(u.operation, u.work): u for u in budget.usage()}
    # Every budgeted call of the job is the recovery share's, none unlabelled ("other").
    assert {work for _, work in usage} == {"recovery"}
    row = usage[("RedriveExecution", "recovery")]
    assert (row.budget_burst, row.budget_rate) == (BURST, RATE)
    assert row.calls_last_minute == served["RedriveExecution"] == 5
    # Held to it: the burst, then the rate, although the job asked for no pace of its own
    # (five sagas redriven back to back would take a few milliseconds).
    assert elapsed >= (5 - BURST) / RATE - 0.1


def test_the_periodic_tasks_charge_their_calls_to_their_kind_of_work(monkeypatch):
    charged: dict[str, str] = {}

    class _Polled:
        queries = calls = samples = errors = 0

    def spy(name: str, returns: Any = 0) -> Any:
        def record(*_: Any, **__: Any) -> Any:
            charged[name] = budget.current_work()
            return returns

        return record

    from opsconsole.monitoring import polling
    from opsconsole.recovery import actions
    from opsconsole.recovery.replays import actions as replays

    monkeypatch.setattr(actions, "poll_dlq_depths", spy("dlq depths"))
    monkeypatch.setattr(replays, "poll_active", spy("replays"))
    monkeypatch.setattr(polling, "poll_all", spy("metrics", _Polled()))
    recovery_tasks.poll_dlq_depths()
    recovery_tasks.poll_replays()
    monitoring_tasks.poll_metrics()
    assert charged == {"dlq depths": "monitoring", "replays": "recovery", "metrics": "monitoring"}
    assert budget.current_work() == "other"  # outside a task: unlabelled
