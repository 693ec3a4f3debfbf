"""The event consumer and the safety-net listing write the same rows: a status never moves
back (a listing read before an event was applied keeps the event's status), facts read from
the input are never lost to a listing, and an execution the safety net sees end waits for
its event instead of being described."""

from __future__ import annotations

import dataclasses
import json
import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from opsconsole.aws import provisioning, stepfunctions
from opsconsole.emulator import world
from opsconsole.registry import get_registry
from sagas import sync, sync_events
from sagas.models import Saga, SagaStatus, SyncState
from tests.helpers import wait_until
from tests.sagas.test_sync_events import SM, event, orders, the

pytestmark = pytest.mark.django_db

ROLE = "arn:aws:iam::123456789012:role/x"
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}


def test_a_listing_read_before_an_event_does_not_move_the_saga_back(aws):
    world.build()
    SyncState.objects.create(kind="orders")
    sync_events.apply_events(orders(), [event("1", "RUNNING")])
    stale = the("1")  # what the safety net read, running
    sync_events.apply_events(orders(), [event("1", "SUCCEEDED")])  # meanwhile: it ended
    # The safety net writes what it read (its history tail of the running saga).
    stale.current_step = "ChargePayment"
    sync.apply_position(
        stale, orders(), None, sfn_status="RUNNING", business_status=None, now=timezone.now()
    )
    sync.upsert([stale])
    row = the("1")
    assert (row.sfn_status, row.status) == ("SUCCEEDED", SagaStatus.SUCCEEDED)
    assert row.stopped_at is not None and row.current_step == ""


def test_a_listed_row_never_replaces_the_facts_an_event_brought(aws):
    world.build()
    SyncState.objects.create(kind="orders")
    done = event("2", "SUCCEEDED", correlation="c-2")
    sync_events.apply_events(orders(), [done])
    listed = Saga(  # what a listing that ran before the event writes: the name's key only
        kind="orders",
        execution_arn=done.arn,
        execution_name=done.name,
        state_machine_arn=SM,
        business_key="2",
        started_at=done.started_at,
        status=SagaStatus.RUNNING,
        sfn_status="RUNNING",
        details_pending=True,
    )
    sync.upsert([listed])
    row = the("2")
    assert (row.sfn_status, row.correlation_id, row.details_pending) == ("SUCCEEDED", "c-2", False)
    registry = get_registry()
    assert sync.describe_pending(orders(), registry.env_for(orders()), registry, settle=0) == 0


def test_a_late_event_still_brings_the_input_of_a_row_that_is_ahead(aws):
    world.build()
    SyncState.objects.create(kind="orders")
    sync_events.apply_events(orders(), [event("3", "SUCCEEDED", included=False)])
    assert the("3").details_pending
    late = sync_events.apply_events(orders(), [event("3", "RUNNING", correlation="c-3")])
    row = the("3")
    assert late.applied == 1
    assert (row.sfn_status, row.correlation_id, row.details_pending) == ("SUCCEEDED", "c-3", False)


def test_the_safety_net_racing_an_event_leaves_the_event_s_status_and_facts(
    aws, aws_calls, monkeypatch
):
    """The real listing path: the safety net lists a new running execution, and its event
    (ended, with the input) is applied between the listing and the listing's write."""
    provisioning.ensure_table("orders", "pk", "sk")
    arn_sm = stepfunctions.ensure_state_machine("OrderFulfillment", WAIT, ROLE)
    arn = stepfunctions.start_execution(
        arn_sm, "order-4-1", {"data": {"orderId": "4"}, "meta": {"correlationId": "c-4"}}
    )
    SyncState.objects.create(kind="orders", last_listing_at=timezone.now() - timedelta(hours=1))
    ended = sync_events.StatusEvent(
        **{**event("4", "SUCCEEDED", correlation="c-4").__dict__, "arn": arn}
    )
    real_upsert = sync.upsert
    raced: list[bool] = []

    def upsert_after_the_event(rows: list[Saga]) -> None:
        if not raced:
            raced.append(True)
            sync_events.apply_events(orders(), [ended])
        real_upsert(rows)

    monkeypatch.setattr(sync, "upsert", upsert_after_the_event)
    result = sync.sync_kind(orders(), safety_net=True)
    assert not result.error and raced
    row = the("4")
    assert (row.sfn_status, row.status) == ("SUCCEEDED", SagaStatus.SUCCEEDED)
    assert (row.correlation_id, row.details_pending) == ("c-4", False)
    assert aws_calls["DescribeExecution"] == 0
    stepfunctions.stop_execution(arn, "Over", "test over")


def _three_done(sm: str) -> list[Any]:
    """Three finished executions, oldest first, with distinct start times."""
    arns = []
    for key in ("5", "6", "7"):
        arns.append(
            stepfunctions.start_execution(
                sm, f"order-{key}-1", {"data": {"orderId": key}, "meta": {"correlationId": key}}
            )
        )
        time.sleep(0.01)  # distinct start times (milliseconds), not waiting for anything
    wait_until(
        lambda: all(stepfunctions.describe_execution(a).status == "SUCCEEDED" for a in arns),
        timeout=30,
        what="the executions to end",
    )
    summaries = {s.arn: s for s in stepfunctions.iter_executions(sm)}
    found = [summaries[a] for a in arns]
    assert found[0].started_at < found[1].started_at < found[2].started_at
    return found


def test_an_execution_the_safety_net_sees_end_waits_for_its_event(aws, aws_calls):
    provisioning.ensure_table("orders", "pk", "sk")
    sm = stepfunctions.ensure_state_machine("OrderFulfillment", PASS, ROLE)
    oldest, middle, newest = _three_done(sm)
    # The read model had the oldest running; the other two were listed ended already.
    for summary, sfn in ((oldest, "RUNNING"), (middle, "SUCCEEDED"), (newest, "SUCCEEDED")):
        Saga.objects.create(
            kind="orders",
            execution_arn=summary.arn,
            execution_name=summary.name,
            state_machine_arn=sm,
            business_key=summary.name.split("-")[1],
            started_at=summary.started_at,
            status=SagaStatus.RUNNING if sfn == "RUNNING" else SagaStatus.SUCCEEDED,
            sfn_status=sfn,
        )
    SyncState.objects.create(
        kind="orders",
        state_machine_arn=sm,
        watermark=newest.started_at,  # the listing stops at the middle one
        last_listing_at=timezone.now() - timedelta(hours=1),
    )
    aws_calls.clear()

    sync.sync_kind(orders(), safety_net=True)

    # Not running any more, but its event is on the way: no describe.
    assert aws_calls["DescribeExecution"] == 0
    assert Saga.objects.get(execution_arn=oldest.arn).sfn_status == "RUNNING"
    state = SyncState.objects.get(kind="orders")
    assert list(state.awaiting_events) == [oldest.arn]

    # Its event was lost: once awaited past the settle time, the safety net describes it.
    since = timezone.now() - timedelta(seconds=sync.EVENTS_SETTLE_SECONDS + 1)
    state.awaiting_events = {oldest.arn: since.isoformat()}
    state.save()
    sync.sync_kind(orders(), safety_net=True)
    assert aws_calls["DescribeExecution"] == 1
    row = Saga.objects.get(execution_arn=oldest.arn)
    assert (row.sfn_status, row.status) == ("SUCCEEDED", SagaStatus.SUCCEEDED)
    assert SyncState.objects.get(kind="orders").awaiting_events == {}


def test_an_awaited_event_that_arrives_clears_the_wait(aws, aws_calls):
    provisioning.ensure_table("orders", "pk", "sk")
    sm = stepfunctions.ensure_state_machine("OrderFulfillment", PASS, ROLE)
    oldest, middle, newest = _three_done(sm)
    for summary, sfn in ((oldest, "RUNNING"), (middle, "SUCCEEDED"), (newest, "SUCCEEDED")):
        Saga.objects.create(
            kind="orders",
            execution_arn=summary.arn,
            execution_name=summary.name,
            state_machine_arn=sm,
            business_key=summary.name.split("-")[1],
            started_at=summary.started_at,
            status=SagaStatus.RUNNING if sfn == "RUNNING" else SagaStatus.SUCCEEDED,
            sfn_status=sfn,
        )
    SyncState.objects.create(
        kind="orders",
        state_machine_arn=sm,
        watermark=newest.started_at,
        last_listing_at=timezone.now() - timedelta(hours=1),
        awaiting_events={oldest.arn: timezone.now().isoformat()},
    )
    body = {
        **event("5", "SUCCEEDED", correlation="5").__dict__,
        "arn": oldest.arn,
        "started_at": oldest.started_at,
        "input": json.dumps({"data": {"orderId": "5"}}),
    }
    sync_events.apply_events(orders(), [sync_events.StatusEvent(**body)])
    aws_calls.clear()
    sync.sync_kind(orders(), safety_net=True)
    assert aws_calls["DescribeExecution"] == 0
    assert SyncState.objects.get(kind="orders").awaiting_events == {}
    assert Saga.objects.get(execution_arn=oldest.arn).status == SagaStatus.SUCCEEDED


def test_without_the_key_in_the_name_the_safety_net_still_waits_for_the_event(
    aws, aws_calls, monkeypatch
):
    provisioning.ensure_table("orders", "pk", "sk")
    sm = stepfunctions.ensure_state_machine("OrderFulfillment", PASS, ROLE)
    arn = stepfunctions.start_execution(
        sm, "order-8-1", {"data": {"orderId": "8"}, "meta": {"correlationId": "c-8"}}
    )
    wait_until(
        lambda: stepfunctions.describe_execution(arn).status == "SUCCEEDED",
        timeout=30,
        what="the execution to end",
    )
    real = sync.kind_sync
    monkeypatch.setattr(  # a kind whose execution names say nothing about the key
        sync, "kind_sync", lambda r, k: dataclasses.replace(real(r, k), name_pattern=None)
    )
    SyncState.objects.create(kind="orders", last_listing_at=timezone.now() - timedelta(hours=1))
    aws_calls.clear()
    sync.sync_kind(orders(), safety_net=True)
    row = Saga.objects.get(execution_arn=arn)
    assert aws_calls["DescribeExecution"] == 0
    assert (row.business_key, row.details_pending, row.sfn_status) == (
        "order-8-1",
        True,
        "SUCCEEDED",
    )
    ended = sync_events.StatusEvent(
        **{**event("8", "SUCCEEDED", correlation="c-8").__dict__, "arn": arn}
    )
    sync_events.apply_events(orders(), [ended])
    row.refresh_from_db()
    assert (row.business_key, row.correlation_id, row.details_pending) == ("8", "c-8", False)
