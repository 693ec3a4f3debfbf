"""A first sync where the execution name carries the business key: the list is complete and
searchable from ListExecutions alone, and the describes follow within the budget, newest
first (strictly: the oldest wait), against an emulator throttling like AWS (and refusing
nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from opsconsole.aws import budget, provisioning, stepfunctions
from opsconsole.emulator import throttling
from opsconsole.registry import get_registry
from sagas import sync
from sagas.models import Saga
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db

PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
ROLE = "arn:aws:iam::123456789012:role/x"
N = 120


@pytest.fixture
def budget_on(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.AWS_BUDGET_ENABLED = True
    settings.AWS_BUDGET_FILE = tmp_path / "budget.sqlite3"
    settings.AWS_BUDGET_REDIS_URL = ""
    budget.reset()
    yield
    budget.reset()


@pytest.fixture
def listed_orders(aws: None) -> str:
    """N finished orders of a one-step OrderFulfillment, named order-<key>-1."""
    provisioning.ensure_table("orders", "pk", "sk")
    arn = stepfunctions.ensure_state_machine("OrderFulfillment", PASS, ROLE)
    for i in range(N):
        key = str(9000 + i)
        stepfunctions.start_execution(
            arn,
            f"order-{key}-1",
            {"data": {"orderId": key}, "meta": {"correlationId": f"corr-{key}"}},
        )
    wait_until(
        lambda: (
            sum(1 for _ in stepfunctions.iter_executions(arn, status="SUCCEEDED", page_size=1000))
            == N
        ),
        timeout=60,
        what="the orders to finish",
    )
    return arn


def test_the_first_sync_lists_everything_and_describes_within_the_budget(
    listed_orders, budget_on, aws_calls
):
    kind = get_registry().kinds["orders"]
    with throttling.enabled("aws"):
        result = sync.sync_kind(kind)
        refused = throttling.counters()["throttled"]
    assert not result.error
    assert refused == {}  # the console stayed within its share: AWS refused nothing
    assert Saga.objects.filter(kind="orders").count() == N
    # Searchable by business key at once, from the names alone.
    assert Saga.objects.filter(business_key="9042").exists()
    assert result.from_names == N
    # The backfill's share of DescribeExecution: 60 at once, then 3 a second while the sync
    # runs (it waits at most PENDING_PATIENCE for tokens, then leaves the rest for later).
    burst, rate = budget.limit_for("stepfunctions", "DescribeExecution", "backfill") or (0, 0)
    assert aws_calls["DescribeExecution"] == result.describe_calls
    assert 0 < result.describe_calls <= burst + rate * result.seconds + 1
    assert result.seconds < 10
    pending = Saga.objects.filter(details_pending=True)
    described = Saga.objects.filter(details_pending=False)
    assert pending.count() == result.pending == N - result.describe_calls
    assert all(s.correlation_id == f"corr-{s.business_key}" for s in described)
    # Oldest work last, strictly: newest first, whatever the pool's threads did, what was
    # described is exactly the newest ones and what waits is exactly the oldest.
    newest_first = list(
        Saga.objects.order_by("-started_at", "-id").values_list("details_pending", flat=True)
    )
    done = result.describe_calls
    assert newest_first == [False] * done + [True] * (N - done)


def test_later_syncs_describe_the_rest_and_then_nothing(listed_orders, budget_on, settings):
    settings.AWS_BUDGET_SHARES = {**settings.AWS_BUDGET_SHARES, "backfill": 1.0}
    kind = get_registry().kinds["orders"]
    sync.sync_kind(kind)
    assert not Saga.objects.filter(details_pending=True).exists()
    again = sync.sync_kind(kind)
    assert (again.describe_calls, again.new) == (0, 0)
