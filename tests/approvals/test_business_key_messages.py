"""Approval messages that carry only the business key and the task token (a common shape:
`{"orderId": ..., "taskToken": ...}`) join the saga that waits for them."""

from __future__ import annotations

import json

import pytest

from approvals import actions
from approvals.models import ApprovalRequest, ApprovalStatus
from opsconsole.audit.log import Actor
from opsconsole.aws import sqs, stepfunctions
from sagas import actions as saga_actions
from sagas.models import Saga

pytestmark = pytest.mark.django_db

ANNA = Actor(type="user", id="anna.approver@example.com", role="approver")
BEN = Actor(type="user", id="ben.approver@example.com", role="approver")


def _strip_to_key_and_token(queue: str, key_field: str) -> str:
    """Replace the state machine's message by one with only the business key and token."""
    (message,) = sqs.receive_messages(queue, max_messages=1, wait_seconds=0)
    body = json.loads(message.body)
    sqs.delete_message(queue, message.receipt_handle)
    lean = {key_field: body[key_field], "taskToken": body["taskToken"]}
    sqs.send_message(queue, json.dumps(lean))
    return str(body["taskToken"])


def test_it_links_a_key_only_message_to_the_waiting_saga_and_checks_its_initiator(
    approval_world,
):
    arn = approval_world.start_order(
        "7001", 1500, initiator={"type": "user", "id": "anna.approver@example.com"}
    )
    approval_world.wait_for_messages("order-approvals")
    _strip_to_key_and_token("order-approvals", "orderId")
    saga_actions.sync_all_kinds(kind="orders")

    actions.collect_approval_requests()

    req = ApprovalRequest.objects.get()
    saga = Saga.objects.get(execution_arn=arn)
    assert req.saga == saga and req.execution_arn == arn
    assert req.correlation_id == "corr-7001"
    assert req.requested_by == "anna.approver@example.com"
    # The initiator, taken from the saga, may not approve her own order.
    with pytest.raises(actions.SelfApproval):
        actions.decide(req.pk, actor=ANNA, decision="approve")
    assert actions.decide(req.pk, actor=BEN, decision="approve").outcome == "approved"
    assert approval_world.wait_done(arn) == "SUCCEEDED"


def test_it_links_a_key_only_message_collected_before_the_saga_was_synced(approval_world):
    arn = approval_world.start_order("7002", 1500)
    approval_world.wait_for_messages("order-approvals")
    _strip_to_key_and_token("order-approvals", "orderId")
    actions.collect_approval_requests()
    req = ApprovalRequest.objects.get()
    assert req.saga is None and req.execution_arn == ""

    saga_actions.sync_all_kinds(kind="orders")
    result = actions.sweep_approval_requests()

    assert result.linked == 1
    req.refresh_from_db()
    assert req.execution_arn == arn and req.correlation_id == "corr-7002"
    assert req.requested_by == "storefront"


def test_it_retires_a_key_only_request_in_one_sweep_once_its_execution_ended(approval_world):
    arn = approval_world.start_order("7003", 1500)
    approval_world.wait_for_messages("order-approvals")
    token = _strip_to_key_and_token("order-approvals", "orderId")
    saga_actions.sync_all_kinds(kind="orders")
    actions.collect_approval_requests()
    req = ApprovalRequest.objects.get()
    # Answered outside the console; the next sync sees the execution ended.
    stepfunctions.send_task_failure(token, error="Rejected", cause="by phone")
    approval_world.wait_done(arn)
    saga_actions.sync_all_kinds(kind="orders")

    actions.sweep_approval_requests()

    req.refresh_from_db()
    assert req.status == ApprovalStatus.CLOSED
    assert "ended" in req.status_reason
