"""The timeline a person reads, built from histories recorded from the demo world
(tests/sagas/histories/, see record.py there) and a few hand-made ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsconsole.aws.stepfunctions import HistoryEvent
from opsconsole.registry import get_registry
from sagas.sync import rules_for
from sagas.timeline import (
    CAUGHT,
    FAILED,
    RETRIED,
    SUCCEEDED,
    WAITING,
    Timeline,
    build_timeline,
    events_from_json,
    gantt,
    position,
)

HISTORIES = Path(__file__).parent / "histories"


def recorded(name: str) -> Timeline:
    doc = json.loads((HISTORIES / f"{name}.json").read_text())
    registry = get_registry()
    return build_timeline(
        events_from_json(doc["events"]), rules_for(registry.kinds[doc["kind"]], registry)
    )


def forward_steps(tl: Timeline) -> list[str]:
    return [v.name for v in tl.visits if not v.is_compensation and not v.lane]


def test_it_reads_a_confirmed_order_as_every_forward_step_in_order():
    tl = recorded("order_succeeded")
    assert tl.status == "SUCCEEDED"
    assert tl.summary() == "Succeeded"
    steps = forward_steps(tl)
    for step in (
        "ValidateOrder",
        "Checks",
        "ReserveInventory",
        "ChargePayment",
        "BurnLoyaltyPoints",
        "BookShipment",
        "MarkConfirmed",
        "PublishOrderConfirmed",
    ):
        assert step in steps
    assert steps.index("ChargePayment") < steps.index("BookShipment") < steps.index("MarkConfirmed")
    assert not tl.compensation_ran
    assert tl.failure is None
    assert all(v.outcome in (SUCCEEDED, RETRIED) for v in tl.visits)
    assert all(v.exited_at is not None for v in tl.visits)


def test_it_puts_the_parallel_checks_side_by_side():
    tl = recorded("order_succeeded")
    checks = tl.visit("Checks")
    assert checks is not None and checks.state_type == "Parallel"
    branches = [[tl.visits[i].name for i in b] for b in checks.branches]
    assert sorted(branches) == [["FraudCheck"], ["InventoryCheck"]]
    fraud = tl.visit("FraudCheck")
    assert fraud.branch_label.startswith("Checks · branch")
    assert fraud.depth == 1


def test_it_shows_each_map_iteration_of_the_reservation_as_its_own_lane():
    tl = recorded("order_succeeded")
    reserve = tl.visit("ReserveInventory")
    assert reserve.state_type == "Map"
    assert len(reserve.branches) >= 1
    for branch in reserve.branches:
        assert [tl.visits[i].name for i in branch] == ["ReserveStock", "RecordReservation"]
    assert tl.visit("ReserveStock").branch_label.startswith("ReserveInventory · iteration")


def test_it_says_a_declined_card_failed_in_charge_payment_and_was_compensated():
    tl = recorded("order_declined")
    assert tl.status == "FAILED"
    charge = tl.visit("ChargePayment")
    assert charge.outcome == CAUGHT
    assert charge.error == "DynamoDB.ConditionalCheckFailedException"
    assert charge.caught_to == "ReleaseInventory"
    assert tl.failure.name == "ChargePayment"
    compensation = [v.name for v in tl.compensation_visits if not v.lane]
    assert compensation == ["ReleaseInventory", "MarkCompensated", "PublishOrderFailed"]
    # Nothing after the failure ran forward.
    assert tl.visit("BookShipment") is None and tl.visit("MarkConfirmed") is None
    assert "failed in ChargePayment" in tl.summary()
    assert "compensated: ReleaseInventory, MarkCompensated, PublishOrderFailed" in tl.summary()


def test_it_marks_the_states_inside_a_compensation_map_as_compensation():
    tl = recorded("order_declined")
    inner = [v for v in tl.visits if v.lane and tl.visits[v.lane[-1][0]].name == "ReleaseInventory"]
    assert inner and all(v.is_compensation for v in inner)


def test_it_finds_the_short_stock_failure_inside_the_reservation_map():
    tl = recorded("order_stock_short")
    failing = [v for v in tl.visits if v.name == "ReserveStock" and v.outcome == FAILED]
    assert len(failing) == 1
    assert failing[0].error == "DynamoDB.ConditionalCheckFailedException"
    assert tl.visit("ReserveInventory").outcome == CAUGHT
    assert tl.visit("ReserveInventory").caught_to == "ReleaseInventory"
    assert "failed in ReserveInventory › ReserveStock" in tl.summary()
    # For the read model the failing step is the one the registry names.
    assert position(tl, rules_for(get_registry().kinds["orders"]).known_steps).current_step == (
        "ReserveInventory"
    )


def test_it_shows_the_retries_of_a_courier_booking_before_parking_the_order():
    tl = recorded("order_needs_review")
    book = tl.visit("BookShipment")
    assert book.outcome == CAUGHT
    assert len(book.attempts) == 3  # the first try and 2 retries
    assert all(a.error == "DynamoDB.ConditionalCheckFailedException" for a in book.attempts)
    assert book.attempts[1].scheduled_at > book.attempts[0].ended_at  # a retry interval
    assert book.caught_to == "MarkNeedsReview"
    assert tl.visit("MarkNeedsReview").outcome == SUCCEEDED
    assert tl.error == "NeedsReview"
    assert not tl.compensation_ran


def test_it_shows_a_rejected_approval_and_the_unwinding_it_caused():
    tl = recorded("order_rejected")
    approval = tl.visit("AwaitApproval")
    assert approval.is_approval and approval.callback
    assert approval.outcome == CAUGHT and approval.error == "Rejected"
    assert tl.failure.name == "AwaitApproval"
    assert tl.compensation_ran


def test_it_shows_an_approval_that_timed_out_with_its_deadline():
    tl = recorded("order_timed_out")
    approval = tl.visit("AwaitApproval")
    assert approval.error == "States.Timeout"
    assert approval.outcome == CAUGHT
    assert approval.deadline is not None
    # The seeded approval times out after 3 s: the deadline is the task's own timeout.
    assert approval.deadline - approval.attempts[0].scheduled_at == timedelta(seconds=3)
    assert "failed in AwaitApproval (States.Timeout)" in tl.summary()


def test_it_shows_an_order_waiting_for_approval_as_a_pending_callback():
    tl = recorded("order_waiting_service")
    assert tl.is_running
    approval = tl.visit("AwaitApproval")
    assert approval.outcome == WAITING and approval.exited_at is None
    assert approval.deadline is not None
    assert tl.callback_pending
    assert tl.current.name == "AwaitApproval"
    assert tl.summary() == "Running; now in AwaitApproval"


def test_it_shows_a_pre_order_running_in_its_wait_state():
    tl = recorded("order_running")
    assert tl.is_running and not tl.callback_pending
    assert tl.current.name == "AwaitDispatchDate"
    assert tl.current.state_type == "Wait"


def test_it_reads_a_closure_that_deleted_the_account():
    tl = recorded("closure_done")
    assert tl.status == "SUCCEEDED"
    assert forward_steps(tl) == [
        "ValidateClosure",
        "AwaitClosureApproval",
        "AnonymizeUserData",
        "HandleBilling",
        "DeleteResourceMetadata",
        "PublishComplianceEvent",
        "SendConfirmationEmail",
        "NotifyAccounting",
        "MarkDeleted",
    ]


def test_it_says_a_closure_failed_in_billing_after_three_retries():
    tl = recorded("closure_failed_billing")
    billing = tl.visit("HandleBilling")
    assert billing.outcome == CAUGHT
    assert billing.retries == 3
    assert billing.caught_to == "PublishCriticalAlert"
    assert tl.error == "AccountClosureFailed"
    # The critical alert only tells someone: the closure was not compensated.
    assert tl.compensation_visits == ()
    assert [v.name for v in tl.notification_visits] == ["PublishCriticalAlert"]
    assert tl.failure.name == "HandleBilling"
    assert "compensated" not in tl.summary()
    assert "notified: PublishCriticalAlert" in tl.summary()


def test_it_says_a_legal_hold_stopped_the_anonymization():
    tl = recorded("closure_failed_legal_hold")
    assert tl.failure.name == "AnonymizeUserData"
    assert tl.visit("HandleBilling") is None


def test_it_shows_a_closure_waiting_for_its_approval():
    tl = recorded("closure_waiting")
    assert tl.callback_pending and tl.current.name == "AwaitClosureApproval"


@pytest.mark.parametrize("name", sorted(p.stem for p in HISTORIES.glob("*.json")))
def test_it_never_shows_a_task_token(name):
    text = (HISTORIES / f"{name}.json").read_text()
    tl = recorded(name)
    for v in tl.visits:
        assert "taskToken" not in (v.parameters or "") or "task token hidden" in v.parameters
    assert '"taskToken": "' not in text.replace('"taskToken": "[task token hidden]"', "")


# --- hand-made histories: what the demo world does not produce ------------------------

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def ev(i: int, prev: int, type_: str, seconds: float, **details) -> HistoryEvent:
    return HistoryEvent(i, prev, type_, T0 + timedelta(seconds=seconds), details)


def test_it_reads_a_step_that_succeeded_on_its_third_attempt():
    events = [
        ev(1, 0, "ExecutionStarted", 0, input="{}"),
        ev(2, 1, "TaskStateEntered", 0, name="ChargePayment", input="{}"),
        ev(3, 2, "TaskScheduled", 0, resource="updateItem", resourceType="dynamodb"),
        ev(4, 3, "TaskFailed", 1, error="DynamoDB.ThrottlingException", cause="slow down"),
        ev(5, 4, "TaskScheduled", 3, resource="updateItem", resourceType="dynamodb"),
        ev(6, 5, "TaskFailed", 4, error="DynamoDB.ThrottlingException", cause="slow down"),
        ev(7, 6, "TaskScheduled", 8, resource="updateItem", resourceType="dynamodb"),
        ev(8, 7, "TaskSucceeded", 9, output="{}"),
        ev(9, 8, "TaskStateExited", 9, name="ChargePayment", output="{}"),
        ev(10, 9, "ExecutionSucceeded", 9, output="{}"),
    ]
    tl = build_timeline(events)
    charge = tl.visit("ChargePayment")
    assert charge.outcome == RETRIED
    assert [a.outcome for a in charge.attempts] == ["failed", "failed", "succeeded"]
    assert [a.error for a in charge.failed_attempts] == ["DynamoDB.ThrottlingException"] * 2
    assert charge.duration() == timedelta(seconds=9)
    assert tl.failure is None


def test_it_reads_an_aborted_execution_and_a_tail_without_its_beginning():
    events = [
        ev(40, 39, "TaskStateExited", 1, name="Earlier"),
        ev(41, 40, "WaitStateEntered", 1, name="AwaitDispatchDate", input="{}"),
        ev(42, 41, "ExecutionAborted", 5),
    ]
    tl = build_timeline(events)
    assert tl.status == "ABORTED"
    assert [v.name for v in tl.visits] == ["AwaitDispatchDate"]
    assert tl.visits[0].outcome == "aborted"


def test_it_draws_one_bar_per_visit_with_retry_ticks_inside_the_picture():
    tl = recorded("closure_failed_billing")
    now = tl.ended_at or T0
    g = gantt(tl, now)
    assert len(g.bars) == len(tl.visits)
    billing = next(b for b in g.bars if b.visit.name == "HandleBilling")
    # Four attempts: three retries, so three ticks (none after the last attempt).
    assert len(billing.ticks) == 3
    assert "o-caught" in billing.css
    alert = next(b for b in g.bars if b.visit.name == "PublishCriticalAlert")
    assert "notify" in alert.css.split()
    for b in g.bars:
        assert g.label_width <= b.x <= g.width and b.x + b.width <= g.width + 2


def test_it_compresses_a_day_long_wait_so_the_steps_after_it_stay_readable():
    events = [
        ev(1, 0, "ExecutionStarted", 0, input="{}"),
        ev(2, 1, "TaskStateEntered", 0, name="AwaitApproval", input="{}"),
        ev(3, 2, "TaskScheduled", 0, resource="sendMessage.waitForTaskToken", resourceType="sqs"),
        ev(4, 3, "TaskSucceeded", 86400, output="{}"),
        ev(5, 4, "TaskStateExited", 86400, name="AwaitApproval", output="{}"),
    ]
    n = 5
    for i in range(9):
        at = 86400 + i * 2
        events += [
            ev(n + 1, n, "PassStateEntered", at, name=f"Step{i}", input="{}"),
            ev(n + 2, n + 1, "PassStateExited", at + 2, name=f"Step{i}", output="{}"),
        ]
        n += 2
    events.append(ev(n + 1, n, "ExecutionSucceeded", 86418, output="{}"))
    tl = build_timeline(events)
    g = gantt(tl, tl.ended_at)
    assert len(g.gaps) == 1 and "idle" in g.gaps[0].label and g.gaps[0].seconds >= 86000
    steps = [b for b in g.bars if b.visit.name.startswith("Step")]
    # Nine 2-second steps share the width a linear scale would have crushed into a pixel.
    assert all(b.width > 50 for b in steps)
    # The axis is on top, its labels inside the picture; every row is drawn.
    assert len(g.bars) == len(tl.visits) == 10
    assert g.axis[-1][2] == "end" and g.axis[-1][0] <= g.width
    # Ticks name the moment under them, so they read correctly across the compressed gap.
    moments = [at for _, at, _ in g.axis]
    assert moments == sorted(moments) and moments[-1] == tl.ended_at
    assert all(b.y >= g.top for b in g.bars)


def test_it_draws_no_retry_tick_on_a_step_with_one_attempt():
    tl = recorded("order_declined")
    g = gantt(tl, tl.ended_at)
    charge = next(b for b in g.bars if b.visit.name == "ChargePayment")
    assert len(charge.visit.attempts) == 1 and charge.ticks == ()
