"""The console's budget of AWS calls: a pool of workers that would exceed its share of an API
is held to it (the emulator's counters are the witness), pages get their own small share and
give up quickly, and AWS's own throttling is counted and cooled down."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from opsconsole.aws import budget, clients, stepfunctions
from opsconsole.aws.errors import AwsUnavailable, Throttled
from opsconsole.emulator import server, throttling, world

BURST, RATE = 4, 10.0  # the sync's bucket below: half of a 8/20 DescribeExecution quota


@pytest.fixture
def budget_on(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.AWS_BUDGET_ENABLED = True
    settings.AWS_BUDGET_FILE = tmp_path / "budget.sqlite3"
    settings.AWS_BUDGET_REDIS_URL = ""
    settings.AWS_QUOTAS = {"stepfunctions.DescribeExecution": (8, 20)}
    settings.AWS_BUDGET_SHARES = {"sync": 0.5, "interactive": 0.125, "other": 0.5}
    settings.AWS_BUDGET_MAX_WAIT = 5.0
    settings.AWS_BUDGET_INTERACTIVE_WAIT = 0.2
    budget.reset()
    yield
    budget.reset()


def _an_execution(built: world.World) -> str:
    return stepfunctions.start_execution(
        built.order_state_machine_arn, "order-1-1", {"data": {"orderId": "1"}}
    )


def _hammer(arn: str, workers: int, seconds: float) -> tuple[int, float]:
    """`workers` threads describing as fast as they can for `seconds`; calls made, time."""
    done = [0] * workers
    stop = time.monotonic() + seconds

    def run(i: int) -> None:
        with budget.work("sync"):
            while time.monotonic() < stop:
                stepfunctions.describe_execution(arn)
                done[i] += 1

    began = time.monotonic()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done), time.monotonic() - began


def test_a_worker_pool_that_would_exceed_the_budget_is_held_to_it(aws, budget_on):
    built = world.build()
    arn = _an_execution(built)
    with throttling.enabled({}):  # not throttling, only counting
        made, elapsed = _hammer(arn, workers=8, seconds=1.5)
        served = throttling.counters()["served"]["DescribeExecution"]
    assert served == made
    # Never above the share: the burst, then the rate (plus the token in refill).
    assert made <= BURST + RATE * elapsed + 1
    assert made >= RATE * 1.0  # ... and the work went on at about that rate
    row = next(u for u in budget.usage() if u.operation == "DescribeExecution")
    assert (row.work, row.budget_rate, row.budget_burst) == ("sync", RATE, BURST)
    assert row.calls_last_minute == made


def test_without_the_budget_the_same_pool_goes_far_beyond_it(aws, settings):
    settings.AWS_BUDGET_ENABLED = False
    built = world.build()
    arn = _an_execution(built)
    made, elapsed = _hammer(arn, workers=8, seconds=1.0)
    assert made > 3 * (BURST + RATE * elapsed)


def test_processes_share_one_bucket_through_the_file(aws, budget_on, settings):
    # Two stores on one file are what two worker processes of one machine have.
    one = budget._FileStore(settings.AWS_BUDGET_FILE)
    other = budget._FileStore(settings.AWS_BUDGET_FILE)
    taken = [s.take("k", 4, 0.001, 1.0)[0] for s in (one, other, one, other, one, other)]
    assert taken == [True, True, True, True, False, False]


def test_a_page_gets_its_own_small_share_and_gives_up_quickly(aws, budget_on):
    built = world.build()
    arn = _an_execution(built)
    with clients.interactive():
        stepfunctions.describe_execution(arn)  # the page's bucket holds one token
        began = time.monotonic()
        with pytest.raises(AwsUnavailable) as refused:
            stepfunctions.describe_execution(arn)
    assert isinstance(refused.value, budget.BudgetExhausted)
    assert time.monotonic() - began < 0.5
    # The background share is untouched by the page's.
    with budget.work("sync"):
        stepfunctions.describe_execution(arn)
    by_work = {u.work: u for u in budget.usage()}
    assert by_work["interactive"].refused_last_minute == 1
    assert by_work["sync"].calls_last_minute == 1


def test_awss_own_throttling_is_counted_and_the_work_cools_down(aws, budget_on, settings):
    settings.AWS_MAX_ATTEMPTS = 1
    clients.reset_clients()
    built = world.build()
    arn = _an_execution(built)
    # Other callers emptied the account's bucket: AWS refuses although the budget allows.
    with throttling.enabled({"DescribeExecution": [1, 0.001]}), budget.work("sync"):
        stepfunctions.describe_execution(arn)
        with pytest.raises(Throttled):
            stepfunctions.describe_execution(arn)
        began = time.monotonic()
        settings.AWS_BUDGET_MAX_WAIT = 0.5
        with pytest.raises(budget.BudgetExhausted):  # resting, AWS is not asked again
            stepfunctions.describe_execution(arn)
        assert time.monotonic() - began < 0.5
        assert throttling.counters()["throttled"]["DescribeExecution"] == 1
    row = next(u for u in budget.usage() if u.work == "sync")
    assert row.throttled_last_minute == 1


def test_unbudgeted_apis_do_not_wait(aws, budget_on):
    built = world.build()
    for _ in range(20):
        stepfunctions.list_state_machines()
    assert built.order_state_machine_arn


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_with_redis_every_worker_shares_one_bucket(aws, budget_on, settings, tmp_path):
    port = server.free_port()
    redis_server = subprocess.Popen(  # noqa: S603
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        settings.AWS_BUDGET_REDIS_URL = f"redis://127.0.0.1:{port}/0"
        import redis

        deadline = time.monotonic() + 5
        while True:
            try:
                redis.Redis(port=port).ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        budget.reset()
        built = world.build()
        arn = _an_execution(built)
        with throttling.enabled({}):
            made, elapsed = _hammer(arn, workers=8, seconds=1.5)
            assert throttling.counters()["served"]["DescribeExecution"] == made
        assert made <= BURST + RATE * elapsed + 1
        assert made >= RATE * 1.0
        row = next(u for u in budget.usage() if u.operation == "DescribeExecution")
        assert row.calls_last_minute == made
    finally:
        budget.reset()
        redis_server.terminate()
        redis_server.wait(5)
