"""Each seeded outcome really exists: by execution status, history and business items."""

from __future__ import annotations

import json

import pytest

from opsconsole.aws import events, sqs, stepfunctions
from opsconsole.aws.errors import TaskTokenExpired, TaskTokenInvalid
from opsconsole.emulator import asl, seed, world
from tests.helpers import wait_until

from .conftest import (
    account_items,
    all_messages,
    execution_of,
    find_message,
    history,
    order_items,
    settled,
    states_entered,
)

W = seed.WELL_KNOWN


def test_it_confirms_the_succeeded_order_with_every_step_stamped(seeded_world_readonly):
    execution = settled(seeded_world_readonly, "orders", W["order_succeeded"])
    assert execution.status == "SUCCEEDED"
    entered = states_entered(history(execution))
    for step in (
        "ValidateOrder",
        "InventoryCheck",
        "FraudCheck",
        "ReserveInventory",
        "ChargePayment",
        "BurnLoyaltyPoints",
        "BookShipment",
        "MarkConfirmed",
        "PublishOrderConfirmed",
    ):
        assert step in entered
    assert "AwaitApproval" not in entered  # below the approval threshold
    items = order_items(W["order_succeeded"])
    assert items["META"]["status"] == "CONFIRMED"
    assert items["PAYMENT"]["status"] == "CHARGED"
    assert items["LOYALTY"]["status"] == "BURNED"
    assert items["SHIPMENT"]["status"] == "BOOKED"
    assert any(sk.startswith("RESERVATION#") for sk in items)


def test_it_compensates_the_declined_card_without_refunding_a_charge_that_never_happened(
    seeded_world_readonly,
):
    execution = settled(seeded_world_readonly, "orders", W["order_declined"])
    assert execution.status == "FAILED"
    assert execution.error == "DynamoDB.ConditionalCheckFailedException"
    entered = states_entered(history(execution))
    assert entered.index("ChargePayment") < entered.index("ReleaseInventory")
    assert {"MarkCompensated", "PublishOrderFailed"} <= set(entered)
    assert "RefundPayment" not in entered
    items = order_items(W["order_declined"])
    assert items["META"]["status"] == "CANCELLED_COMPENSATED"
    assert "PAYMENT" not in items
    assert not any(sk.startswith("RESERVATION#") for sk in items)  # released


def test_it_compensates_the_stock_short_order_and_never_oversells(seeded_world_readonly):
    execution = settled(seeded_world_readonly, "orders", W["order_stock_short"])
    assert execution.status == "FAILED"
    entered = states_entered(history(execution))
    assert {"ReserveInventory", "ReleaseInventory", "MarkCompensated"} <= set(entered)
    assert "ChargePayment" not in entered
    assert order_items(W["order_stock_short"])["META"]["status"] == "CANCELLED_COMPENSATED"
    from opsconsole.aws import dynamodb

    lamp = dynamodb.get_item(world.INVENTORY_TABLE, {"pk": f"SKU#{world.LOW_STOCK_SKU}"})
    assert lamp is not None and lamp["stock"] == world.INVENTORY[world.LOW_STOCK_SKU][2]


def test_it_parks_the_order_without_a_courier_slot_in_needs_review(seeded_world_readonly):
    execution = settled(seeded_world_readonly, "orders", W["order_needs_review"])
    assert execution.status == "FAILED"
    # Charged, not shipped: parked for a person, and the execution stopped at the step
    # that gave up (uncaught), where a redrive resumes once the slot is reopened.
    assert execution.error == "DynamoDB.ConditionalCheckFailedException"
    assert execution.redrive_status == "REDRIVABLE"
    events_ = history(execution)
    book_failures = [
        e
        for e in events_
        if e.type == "TaskFailed" and "ConditionalCheckFailed" in e.details.get("error", "")
    ]
    assert len(book_failures) >= 2  # BookShipment was retried before a person was asked
    assert states_entered(events_)[-2:] == ["ParkForReview", "RebookShipment"]
    assert "RefundPayment" not in states_entered(events_)  # nothing unwound
    assert order_items(W["order_needs_review"])["META"]["status"] == "NEEDS_REVIEW"


@pytest.mark.parametrize("key", [W["order_waiting_service"], W["order_waiting_initiator_approver"]])
def test_it_leaves_high_value_orders_waiting_at_the_approval_step(seeded_world_readonly, key):
    execution = execution_of(seeded_world_readonly, "orders", key)
    assert execution.status == "RUNNING"
    events_ = wait_until(
        lambda: (h := history(execution)) and h[-1].type == "TaskSubmitted" and h,
        what="the approval request to be sent",
    )
    assert events_[-1].details["resource"] == "sendMessage.waitForTaskToken"
    assert states_entered(events_)[-1] == "AwaitApproval"


def test_it_records_who_initiated_each_saga(seeded_world_readonly):
    def initiator(kind, key):
        return execution_of(seeded_world_readonly, kind, key).input_json()["meta"]["initiator"]

    assert initiator("orders", W["order_waiting_service"]) == {
        "type": "service",
        "id": "storefront",
    }
    assert initiator("orders", W["order_waiting_initiator_approver"]) == {
        "type": "user",
        "id": "anna.approver@example.com",
    }
    assert initiator("closures", W["closure_waiting"])["id"] == "oscar.operator@example.com"
    payload = execution_of(seeded_world_readonly, "orders", W["order_waiting_service"]).input_json()
    assert payload["meta"]["correlationId"] == seed.correlation_id_for("orders", "8842")
    assert payload["data"]["amount"] > asl.APPROVAL_THRESHOLD


def test_it_compensates_the_rejected_and_the_timed_out_approvals(seeded_world_readonly):
    rejected = settled(seeded_world_readonly, "orders", W["order_rejected"])
    assert rejected.status == "FAILED" and rejected.error == "Rejected"
    timed_out = settled(seeded_world_readonly, "orders", W["order_timed_out"])
    assert timed_out.status == "FAILED" and timed_out.error == "ApprovalTimedOut"
    assert any(e.type == "TaskTimedOut" for e in history(timed_out))
    for key in (W["order_rejected"], W["order_timed_out"]):
        assert order_items(key)["META"]["status"] == "CANCELLED_COMPENSATED"


def test_it_keeps_the_pre_order_running_until_its_dispatch_date(seeded_world_readonly):
    execution = execution_of(seeded_world_readonly, "orders", W["order_running"])
    assert execution.status == "RUNNING"
    last = wait_until(
        lambda: (h := history(execution)) and h[-1].type == "WaitStateEntered" and h[-1],
        what="the pre-order to wait",
    )
    assert last.details["name"] == "AwaitDispatchDate"


def test_it_seeds_an_aborted_and_a_timed_out_execution_and_restores_the_definition(aws, db):
    built = world.build()
    before = stepfunctions.state_machine_definition(built.order_state_machine_arn)
    # The first eleven well-known orders include 8851 (stopped) and 8852 (timed out).
    seed.seed(orders=11, closures=0, built=built, dead_letters=False)
    assert settled(built, "orders", W["order_aborted"]).status == "ABORTED"
    assert settled(built, "orders", W["order_execution_timed_out"]).status == "TIMED_OUT"
    # Nothing else runs on the shortened definition: the pre-order still waits its date.
    assert execution_of(built, "orders", W["order_running"]).status == "RUNNING"
    assert stepfunctions.state_machine_definition(built.order_state_machine_arn) == before
    # Nothing may outlive this test's emulator and write into the next test's world: the
    # others finish on their own, the pre-order is stopped (moto does not stop a step that
    # waits for a task token, so the two approvals just wait).
    waiting = {W["order_waiting_service"], W["order_waiting_initiator_approver"]}
    stepfunctions.stop_execution(
        execution_of(built, "orders", W["order_running"]).arn, "TestOver", "the test ended"
    )
    wait_until(
        lambda: all(
            e.status != "RUNNING" or e.name.split("-")[1] in waiting
            for e in stepfunctions.iter_executions(built.order_state_machine_arn)
        ),
        timeout=60,
        what="the orders that finish to finish",
    )


def test_it_seeds_closures_done_failed_rejected_and_waiting(seeded_world_readonly):
    done = settled(seeded_world_readonly, "closures", W["closure_done"])
    assert done.status == "SUCCEEDED"
    profile = account_items(W["closure_done"])["PROFILE"]
    assert profile["status"] == "deleted"
    assert "@" not in profile["email"]  # hashed, not deleted
    assert "RESOURCES" not in account_items(W["closure_done"])

    billing = settled(seeded_world_readonly, "closures", W["closure_failed_billing"])
    assert (
        billing.status == "FAILED" and billing.error == "DynamoDB.ConditionalCheckFailedException"
    )
    events_ = history(billing)
    assert sum(1 for e in events_ if e.type == "TaskFailed") == 4  # 1 try + 3 retries
    # Uncaught: it stopped at HandleBilling, where a redrive resumes after the fix.
    assert states_entered(events_)[-1] == "HandleBilling"

    legal = settled(seeded_world_readonly, "closures", W["closure_failed_legal_hold"])
    assert legal.error == "AccountClosureFailed"
    assert "HandleBilling" not in states_entered(history(legal))

    rejected = settled(seeded_world_readonly, "closures", W["closure_rejected"])
    assert rejected.error == "ClosureRejected"
    assert account_items(W["closure_rejected"])["PROFILE"]["status"] == "active"

    waiting = execution_of(seeded_world_readonly, "closures", W["closure_waiting"])
    assert waiting.status == "RUNNING"
    assert account_items(W["closure_waiting"])["PROFILE"]["closure_request_id"] == waiting.arn


def test_it_fills_the_dead_letter_queues_with_awkward_messages(seeded_world_readonly):
    payments = all_messages(seeded_world_readonly.queue_urls["payments-dlq"])
    not_json = []
    for m in payments:
        try:
            json.loads(m.body)
        except ValueError:
            not_json.append(m)
    assert len(not_json) == 1
    shipments = all_messages(seeded_world_readonly.queue_urls["shipments-dlq"])
    assert max(len(m.body) for m in shipments) > 150_000
    rule_dlq = all_messages(seeded_world_readonly.queue_urls[world.RULE_DLQ])
    assert rule_dlq
    for m in rule_dlq:
        assert {"ERROR_CODE", "ERROR_MESSAGE", "RULE_ARN", "TARGET_ARN"} <= set(
            m.message_attributes
        )
        assert m.message_attributes["RULE_ARN"] == seeded_world_readonly.rule_arn
    for m in payments + shipments + rule_dlq:
        assert m.message_attributes.get("correlationId")
    assert sqs.queue_stats("closure-emails-dlq").visible > 0


def test_it_archives_the_events_put_on_the_orders_bus(seeded_world_readonly):
    archive = events.describe_archive(world.ORDERS_ARCHIVE)
    assert archive is not None and archive.event_count > 0


def test_it_resumes_order_8842_to_confirmed_when_approved(seeded):
    message = find_message(
        seeded.queue_urls["order-approvals"], lambda body, _m: body and body["orderId"] == "8842"
    )
    body = json.loads(message.body)
    assert message.message_attributes["correlationId"] == seed.correlation_id_for("orders", "8842")
    assert body["threshold"] == asl.APPROVAL_THRESHOLD
    assert body["executionArn"] == execution_of(seeded, "orders", "8842").arn
    answer = {
        "approved": True,
        "approver": "ben.approver@example.com",
        "comment": "ok",
        "ticket": None,
    }
    stepfunctions.send_task_success(body["taskToken"], answer)

    execution = settled(seeded, "orders", "8842")
    assert execution.status == "SUCCEEDED"
    assert order_items("8842")["META"]["status"] == "CONFIRMED"
    with pytest.raises((TaskTokenInvalid, TaskTokenExpired)):
        stepfunctions.send_task_success(body["taskToken"], answer)


def test_it_compensates_an_order_when_its_approval_is_rejected(seeded):
    message = find_message(
        seeded.queue_urls["order-approvals"], lambda body, _m: body and body["orderId"] == "8844"
    )
    stepfunctions.send_task_failure(json.loads(message.body)["taskToken"], "Rejected", "no")
    execution = settled(seeded, "orders", "8844")
    assert execution.status == "FAILED" and execution.error == "Rejected"
    assert "ReleaseInventory" in states_entered(history(execution))
    assert order_items("8844")["META"]["status"] == "CANCELLED_COMPENSATED"


def test_it_closes_account_77_after_approval(seeded):
    message = find_message(
        seeded.queue_urls["closure-approvals"], lambda body, _m: body and body["accountId"] == "77"
    )
    body = json.loads(message.body)
    assert body["initiator"] == {"type": "user", "id": "oscar.operator@example.com"}
    stepfunctions.send_task_success(
        body["taskToken"], {"approved": True, "approver": "anna.approver@example.com"}
    )
    execution = settled(seeded, "closures", "77")
    assert execution.status == "SUCCEEDED"
    assert states_entered(history(execution))[-4:] == [
        "PublishComplianceEvent",
        "SendConfirmationEmail",
        "NotifyAccounting",
        "MarkDeleted",
    ]
    assert account_items("77")["PROFILE"]["status"] == "deleted"
    find_message(
        seeded.queue_urls["closure-emails"], lambda body, _m: body and body["accountId"] == "77"
    )
