"""Replaying the orders archive starts sagas: the OrderPlaced rule's state machine target
receives the replayed events, the intake starts the saga of each order whose first delivery
was lost, and starts nothing for an order that already has one; the replay's page lists the
sagas it started."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.aws import stepfunctions
from opsconsole.emulator import seed, world
from opsconsole.recovery.replays import actions
from sagas.models import Saga
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db
OPERATOR = Actor(type="user", id="operator", role="operator")


def _names(state_machine_arn: str) -> set[str]:
    return {e.name for e in stepfunctions.iter_executions(state_machine_arn)}


def _all_ended(state_machine_arn: str, count: int) -> list[stepfunctions.ExecutionSummary]:
    def done():
        found = list(stepfunctions.iter_executions(state_machine_arn))
        if len(found) >= count and all(e.status != "RUNNING" for e in found):
            return found
        return None

    return wait_until(done, timeout=30, interval=0.2, what=f"{count} executions to end")


@pytest.fixture
def built(aws):
    return world.build()


def test_an_order_placed_event_starts_its_saga_once(built):
    placed = int(time.time())
    planned = seed._order("9500", "succeeded", 9500)
    seed.publish_order_events([planned], placed)
    name = f"order-9500-{placed}"
    wait_until(lambda: name in _names(built.order_state_machine_arn), what="the saga")
    # The same event again (a redelivery): the intake finds the saga and starts nothing.
    seed.publish_order_events([planned], placed)
    intakes = _all_ended(built.intake_state_machine_arn, 2)
    assert sorted(e.status for e in intakes) == ["SUCCEEDED", "SUCCEEDED"]
    assert _names(built.order_state_machine_arn) == {name}


def test_a_replay_of_the_archive_starts_the_sagas_whose_events_were_lost(built):
    placed = int(time.time())
    # An order the traffic started as the intake would have, then its OrderPlaced event.
    known = seed._order("9501", "succeeded", 9501)
    stepfunctions.start_execution(
        built.order_state_machine_arn, f"order-9501-{placed}", known.payload
    )
    seed.publish_order_events([known], placed)
    # Orders placed while the intake rule was disabled: archived, no saga.
    lost = seed.publish_during_intake_outage(built, placed, ["9502", "9503"])
    _all_ended(built.intake_state_machine_arn, 1)
    assert _names(built.order_state_machine_arn) == {f"order-9501-{placed}"}

    now = timezone.now()
    record = actions.start(
        "orders-archive", now - timedelta(hours=1), now, actor=OPERATOR, idempotency_key="r"
    )
    record = wait_until(
        lambda: (r := actions.refresh(record)).state == "COMPLETED" and r,
        timeout=30,
        what="the replay to complete",
    )
    expected = {f"order-{key}-{placed}" for key in ["9501", *lost]}
    wait_until(
        lambda: _names(built.order_state_machine_arn) == expected,
        timeout=20,
        what="the lost orders' sagas",
    )
    # 1 live delivery + 3 replayed: every intake run ended well (two started a saga, the
    # replayed event of 9501 found its saga already there).
    intakes = _all_ended(built.intake_state_machine_arn, 4)
    assert [e.status for e in intakes] == ["SUCCEEDED"] * 4
    started = [
        e
        for e in stepfunctions.iter_executions(built.order_state_machine_arn)
        if e.name != f"order-9501-{placed}"
    ]

    # The console synced them; the replay's page lists them, and not what ran before it or
    # what live traffic started meanwhile.
    def saga(name: str, key: str, at: datetime) -> Saga:
        return Saga.objects.create(
            kind="orders",
            execution_arn=f"arn:x:{name}",
            execution_name=name,
            state_machine_arn=built.order_state_machine_arn,
            business_key=key,
            status="running",
            sfn_status="RUNNING",
            started_at=at,
        )

    replayed = [saga(e.name, e.name.split("-")[1], e.started_at) for e in started]
    saga(f"order-9501-{placed}", "9501", datetime.fromtimestamp(placed, tz=UTC))
    saga(f"order-9600-{placed + 7200}", "9600", timezone.now())
    listed = actions.sagas_started_by(record)
    assert sorted(s.pk for s in listed) == sorted(s.pk for s in replayed)
