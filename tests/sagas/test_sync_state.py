"""The sync's state where an operator looks for a saga that is not there yet: the kind's list
page, the API, and the admins' page with the AWS call budget's use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsconsole.aws import budget, stepfunctions
from opsconsole.emulator import world
from opsconsole.registry import get_registry
from sagas import sync_events
from sagas.models import Saga, SyncState
from tests.sagas.test_sync_events import event, orders

pytestmark = pytest.mark.django_db


@pytest.fixture
def budget_on(settings: Any, tmp_path: Any) -> Iterator[None]:
    settings.AWS_BUDGET_ENABLED = True
    settings.AWS_BUDGET_FILE = tmp_path / "budget.sqlite3"
    settings.AWS_BUDGET_REDIS_URL = ""
    budget.reset()
    yield
    budget.reset()


@pytest.fixture
def synced(aws: None, budget_on: None) -> None:
    """Two orders from events, one of them still waiting for its describe; one budgeted call."""
    world.build()
    SyncState.objects.create(kind="orders", last_success_at=datetime.now(tz=UTC))
    sync_events.apply_events(
        orders(), [event("1", "SUCCEEDED"), event("2", "RUNNING", included=False)]
    )
    SyncState.objects.filter(kind="orders").update(
        last_event_at=datetime.now(tz=UTC) - timedelta(seconds=5),
        last_event_lag_ms=400,
        awaiting_events={"arn:x": datetime.now(tz=UTC).isoformat()},
    )
    env = get_registry().env_for(orders())
    with budget.work("backfill"):
        stepfunctions.describe_execution(Saga.objects.get(business_key="1").execution_arn, env)


def test_the_list_page_says_how_the_kind_is_kept_current_and_what_waits(synced, viewer_client):
    page = viewer_client.get("/sagas/orders/").content.decode()
    assert 'data-sync-state="events"' in page
    assert re.search(r"Kept current by status change events: last [5-9] s ago", page)
    assert "0.4 s after it happened" in page
    assert "1 waiting for their details" in page
    assert "1 ended, waiting for their event" in page
    assert "DescribeExecution (backfill)" in page


def test_the_api_gives_each_kinds_sync_state(synced, viewer_client):
    found = {s["kind"]: s for s in viewer_client.get("/api/v1/sync/").json()}
    orders_state = found["orders"]
    assert orders_state["mode"] == "events"
    assert orders_state["events_queue"] == "opsconsole-sfn-status"
    assert orders_state["backlog"] == 1
    assert orders_state["awaiting_events"] == 1
    assert orders_state["events_applied"] == 2
    assert orders_state["last_event_lag_seconds"] == 0.4
    assert orders_state["last_event_at"].endswith("Z")
    [use] = orders_state["budget"]
    assert (use["operation"], use["work"], use["calls_last_minute"]) == (
        "DescribeExecution",
        "backfill",
        1,
    )
    assert use["budget_rate"] == 3.0  # a fifth of DescribeExecution's 15 a second


def test_admins_see_every_budget_and_its_use(synced, admin_client_):
    page = admin_client_.get("/sagas/sync/").content.decode()
    assert 'data-api="DescribeExecution" data-work="backfill"' in page
    assert "stepfunctions.DescribeExecution" in page
    answer = admin_client_.get("/api/v1/aws-budget/").json()
    assert answer["enabled"] is True
    assert {
        "api": "stepfunctions.DescribeExecution",
        "work": "backfill",
        "burst": 60.0,
        "rate": 3.0,
    } in answer["budgets"]
    assert [u["calls_total"] for u in answer["usage"] if u["work"] == "backfill"] == [1]
