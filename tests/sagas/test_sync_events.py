"""Event-driven sync: Step Functions status change events reach the read model without a
DescribeExecution, twice or out of order changes nothing, and polling is a slow safety net."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from opsconsole.aws import stepfunctions
from opsconsole.emulator import seed, world
from opsconsole.registry import get_registry
from sagas import sync, sync_events
from sagas.models import Saga, SagaStatus, SyncState
from sagas.tasks import consume_status_events, sync_all_kinds
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db

SM = "arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFulfillment"
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def event(
    key: str,
    status: str,
    *,
    redrive: int = 0,
    included: bool = True,
    correlation: str = "c-1",
    error: str | None = None,
) -> sync_events.StatusEvent:
    document = {"data": {"orderId": key}, "meta": {"correlationId": correlation}}
    return sync_events.StatusEvent(
        arn=f"arn:aws:states:eu-west-1:123456789012:execution:OrderFulfillment:order-{key}-1",
        state_machine_arn=SM,
        name=f"order-{key}-1",
        status=status,
        started_at=T0,
        stopped_at=None if status == "RUNNING" else T0 + timedelta(seconds=5),
        input=json.dumps(document) if included else None,
        input_included=included,
        error=error,
        cause=None,
        redrive_count=redrive,
    )


def orders():
    return get_registry().kinds["orders"]


def the(key: str) -> Saga:
    return Saga.objects.get(business_key=key)


def test_it_reads_the_event_as_aws_sends_it():
    body = json.dumps(
        {
            "version": "0",
            "id": "1",
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": "123456789012",
            "time": "2026-11-30T12:00:05Z",
            "region": "eu-west-1",
            "resources": ["arn:x"],
            "detail": {
                "executionArn": "arn:x",
                "stateMachineArn": SM,
                "name": "order-1-1",
                "status": "FAILED",
                "startDate": 1796040000000,
                "stopDate": 1796040005000,
                "input": '{"a": 1}',
                "inputDetails": {"included": True},
                "error": "PaymentDeclined",
                "cause": "card",
                "redriveCount": 0,
            },
        }
    )
    found = sync_events.parse_event(body)
    assert found is not None
    assert (found.status, found.error, found.input_json()) == (
        "FAILED",
        "PaymentDeclined",
        {"a": 1},
    )
    assert found.stopped_at == datetime.fromtimestamp(1796040005, tz=UTC)
    assert sync_events.parse_event('{"detail-type": "Something else"}') is None
    assert sync_events.parse_event("not json") is None


def test_status_only_moves_forward_and_a_replayed_event_changes_nothing(aws):
    world.build()
    SyncState.objects.create(kind="orders")
    kind = orders()
    sync_events.apply_events(kind, [event("1", "SUCCEEDED")])
    assert the("1").sfn_status == "SUCCEEDED"
    # RUNNING arrives late, SUCCEEDED arrives again: nothing changes.
    late = sync_events.apply_events(kind, [event("1", "RUNNING"), event("1", "SUCCEEDED")])
    assert (late.applied, late.unchanged) == (0, 2)
    row = the("1")
    assert (row.sfn_status, row.correlation_id) == ("SUCCEEDED", "c-1")
    assert SyncState.objects.get(kind="orders").events_applied == 1


def test_within_one_batch_the_furthest_status_wins_whatever_the_order(aws):
    world.build()
    sync_events.apply_events(
        orders(), [event("2", "FAILED", error="PaymentDeclined"), event("2", "RUNNING")]
    )
    assert the("2").sfn_status == "FAILED"
    assert the("2").last_error == "PaymentDeclined"


def test_a_redrive_starts_a_new_round(aws):
    world.build()
    sync_events.apply_events(orders(), [event("3", "FAILED", error="X")])
    sync_events.apply_events(orders(), [event("3", "RUNNING", redrive=1)])
    row = the("3")
    assert (row.sfn_status, row.status, row.redrive_count) == ("RUNNING", SagaStatus.RUNNING, 1)


def test_an_event_without_its_input_queues_a_describe(aws):
    built = world.build()
    payload = seed._order("7400", "declined", 7400).payload
    arn = stepfunctions.start_execution(built.order_state_machine_arn, "order-7400-1", payload)
    bare = sync_events.StatusEvent(
        **{**event("7400", "RUNNING", included=False).__dict__, "arn": arn}
    )
    result = sync_events.apply_events(orders(), [bare])
    row = the("7400")
    # The name tells the business key (registry execution_name), the rest waits.
    assert (result.pending, row.details_pending, row.correlation_id) == (1, True, "")
    registry = get_registry()
    calls = sync.describe_pending(orders(), registry.env_for(orders()), registry)
    row = the("7400")
    assert calls == 1
    assert row.details_pending is False
    assert row.correlation_id == payload["meta"]["correlationId"]


def test_the_world_s_events_reach_the_read_model_with_no_describe(aws, aws_calls):
    built = world.build()
    SyncState.objects.create(kind="orders")
    planned = [
        seed._order(str(7500 + i), o, 7500 + i) for i, o in enumerate(["succeeded", "declined"])
    ]
    for p in planned:
        stepfunctions.start_execution(
            built.order_state_machine_arn, seed.execution_name("orders", p.key, 1), p.payload
        )

    def ended():
        sync_events.consume(max_seconds=1, wait_seconds=0)
        rows = Saga.objects.filter(business_key__in=[p.key for p in planned])
        return rows.count() == 2 and all(r.sfn_status != "RUNNING" for r in rows) and rows

    rows = {r.business_key: r for r in wait_until(ended, timeout=60, what="both to end")}
    assert rows["7500"].status == SagaStatus.SUCCEEDED
    assert rows["7501"].sfn_status == "FAILED"
    assert rows["7501"].correlation_id == planned[1].payload["meta"]["correlationId"]
    assert aws_calls["DescribeExecution"] == 0
    assert aws_calls["ListExecutions"] == 0
    state = SyncState.objects.get(kind="orders")
    assert state.events_applied >= 2 and state.last_event_at is not None


def test_it_runs_as_the_beat_task_and_a_task_run_twice_is_harmless(aws):
    built = world.build()
    p = seed._order("7600", "succeeded", 7600)
    stepfunctions.start_execution(built.order_state_machine_arn, "order-7600-1", p.payload)

    def done() -> Any:
        consume_status_events.delay()
        return Saga.objects.filter(business_key="7600", sfn_status="SUCCEEDED").first()

    wait_until(done, timeout=60, what="the order to succeed in the read model")
    consume_status_events.delay()
    assert Saga.objects.filter(business_key="7600").count() == 1


def test_a_listed_execution_waits_for_its_event_before_a_describe(aws):
    built = world.build()
    SyncState.objects.create(kind="orders", last_listing_at=T0)  # listed before: events flow
    payload = seed._order("7700", "declined", 7700).payload
    arn = stepfunctions.start_execution(built.order_state_machine_arn, "order-7700-1", payload)
    row = Saga.objects.create(
        kind="orders",
        execution_arn=arn,
        execution_name="order-7700-1",
        state_machine_arn=SM,
        business_key="7700",
        status=SagaStatus.RUNNING,
        sfn_status="RUNNING",
        started_at=datetime.now(tz=UTC),
        details_pending=True,
    )
    registry = get_registry()
    # Just started: its event (with the input) is surely on the way, no describe yet.
    assert sync.describe_pending(orders(), registry.env_for(orders()), registry) == 0
    ev = sync_events.StatusEvent(**{**event("7700", "RUNNING").__dict__, "arn": arn})
    sync_events.apply_events(orders(), [ev])  # the same status, but with the input
    row.refresh_from_db()
    assert (row.details_pending, row.correlation_id) == (False, "c-1")


def test_polling_is_a_slow_safety_net_when_events_keep_the_kind_current(aws, aws_calls, settings):
    world.build()
    settings.SYNC_SAFETY_NET_SECONDS = 3600
    sync_all_kinds.delay()  # the first time, every kind is listed
    first = aws_calls["ListExecutions"]
    assert first == 2
    sync_all_kinds.delay()
    assert aws_calls["ListExecutions"] == first  # not due again for an hour
    SyncState.objects.update(last_listing_at=datetime.now(tz=UTC) - timedelta(hours=2))
    sync_all_kinds.delay()
    assert aws_calls["ListExecutions"] == first + 2
