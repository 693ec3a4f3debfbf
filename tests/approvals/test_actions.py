"""Collecting, deciding and sweeping approval requests (emulated world and plain rules)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import actions
from approvals.actions import decisions
from approvals.models import ApprovalDecision, ApprovalRequest, ApprovalStatus
from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent
from opsconsole.aws import sqs, stepfunctions
from opsconsole.aws.errors import AwsUnavailable, TaskTokenExpired
from opsconsole.web.problems import message_for
from tests.approvals.conftest import SERVICE
from tests.approvals.factories import make_request

pytestmark = pytest.mark.django_db

ANNA = Actor(type="user", id="anna.approver@example.com", role="approver")
BEN = Actor(type="user", id="ben.approver@example.com", role="approver")
VERA = Actor(type="user", id="vera.viewer@example.com", role="viewer")


def _callback_answers(arn: str) -> list[str]:
    """How the execution's approval step was answered, per the history (one entry each)."""
    return [
        e.type
        for e in stepfunctions.get_execution_history(arn)
        if e.type in ("TaskSucceeded", "TaskFailed", "TaskTimedOut")
        and e.details.get("resource") == "sendMessage.waitForTaskToken"
    ]


def _collect_one(world, queue: str = "order-approvals") -> ApprovalRequest:
    world.wait_for_messages(queue)
    actions.collect_approval_requests()
    return ApprovalRequest.objects.get()


# --- with the emulated world ---------------------------------------------------------


def test_it_collects_a_waiting_order_and_approval_resumes_it_to_confirmed(approval_world):
    arn = approval_world.start_order("6842", 1240)
    approval_world.wait_for_messages("order-approvals")

    result = actions.collect_approval_requests()

    assert result.created == 1
    assert sqs.queue_stats("order-approvals").visible == 0
    req = ApprovalRequest.objects.get()
    assert req.summary == "order 6842, 1,240.00 EUR, above the 1,000 threshold"
    assert req.execution_arn == arn
    assert req.requested_by == "storefront"
    assert req.deadline is not None
    assert req.deadline - req.requested_at == timedelta(seconds=86400)

    outcome = actions.decide(req.pk, actor=ANNA, decision="approve", comment="ok", ticket="T-1")

    assert outcome.outcome == "approved"
    assert approval_world.wait_done(arn) == "SUCCEEDED"
    assert approval_world.order_status("6842") == "CONFIRMED"
    output = json.loads(stepfunctions.describe_execution(arn).output)
    assert output["approval"] == {
        "approved": True,
        "approver": "anna.approver@example.com",
        "comment": "ok",
        "ticket": "T-1",
    }
    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED
    assert req.decisions.get().decided_by == ANNA.id


def test_it_sends_a_rejected_order_into_compensation_with_the_reason(approval_world):
    arn = approval_world.start_order("6850", 2500)
    req = _collect_one(approval_world)

    outcome = actions.decide(req.pk, actor=ANNA, decision="reject", reason="Customer unverified")

    assert outcome.outcome == "rejected"
    approval_world.wait_done(arn)
    assert approval_world.order_status("6850") == "CANCELLED_COMPENSATED"
    failed = [e for e in stepfunctions.get_execution_history(arn) if e.type == "TaskFailed"]
    assert failed[0].details["error"] == "Rejected"
    # moto drops SendTaskFailure's cause; the gateway test below checks the reason is sent.


def test_it_needs_two_different_approvers_to_release_a_closure(approval_world):
    arn = approval_world.start_closure("677")
    req = _collect_one(approval_world, "closure-approvals")
    assert req.summary == "close account 677"

    first = actions.decide(req.pk, actor=ANNA, decision="approve")
    assert first.outcome == "first_approval"
    assert approval_world.status(arn) == "RUNNING"
    with pytest.raises(actions.SameApprover):
        actions.decide(req.pk, actor=ANNA, decision="approve")
    assert approval_world.status(arn) == "RUNNING"

    second = actions.decide(req.pk, actor=BEN, decision="approve", comment="checked")

    assert second.outcome == "approved"
    assert approval_world.wait_done(arn) == "SUCCEEDED"
    output = json.loads(stepfunctions.describe_execution(arn).output)
    assert output["approval"]["approvers"] == [ANNA.id, BEN.id]
    assert [d.decided_by for d in req.decisions.all()] == [ANNA.id, BEN.id]


def test_it_marks_a_timed_out_step_expired_instead_of_failing(approval_world):
    arn = approval_world.start_order("6860", 3000, timeout_seconds=1)
    req = _collect_one(approval_world)
    approval_world.wait_done(arn)  # the step timed out; the saga compensated

    outcome = actions.decide(req.pk, actor=ANNA, decision="approve")

    assert outcome.outcome == "expired"
    req.refresh_from_db()
    assert req.status == ApprovalStatus.EXPIRED
    assert "timed out" in req.status_reason


def test_it_makes_a_double_click_harmless(approval_world):
    arn = approval_world.start_order("6870", 1500)
    req = _collect_one(approval_world)

    first = actions.decide(req.pk, actor=ANNA, decision="approve", idempotency_key="k1")
    again = actions.decide(req.pk, actor=ANNA, decision="approve", idempotency_key="k1")

    assert first.outcome == again.outcome == "approved"
    assert again.replayed
    with pytest.raises(actions.AlreadyDecided) as refused:
        actions.decide(req.pk, actor=BEN, decision="approve")
    assert message_for(refused.value).startswith("Already approved by anna.approver")
    approval_world.wait_done(arn)
    assert _callback_answers(arn) == ["TaskSucceeded"]


def test_it_refuses_the_initiator_and_audits_the_attempt(approval_world):
    arn = approval_world.start_order(
        "6844", 1800, initiator={"type": "user", "id": "anna.approver@example.com"}
    )
    req = _collect_one(approval_world)

    with pytest.raises(actions.SelfApproval):
        actions.decide(req.pk, actor=ANNA, decision="approve", identities={"anna"})

    assert approval_world.status(arn) == "RUNNING"
    refused = AuditEvent.objects.get(action="approval.approve", result="refused")
    assert refused.actor == ANNA.id and refused.error == "approval.self_approval"
    assert refused.details["requested_by"] == "anna.approver@example.com"
    assert actions.decide(req.pk, actor=BEN, decision="approve").outcome == "approved"


def test_it_never_makes_a_second_request_from_a_duplicated_message(approval_world):
    approval_world.start_order("6880", 1500)
    approval_world.wait_for_messages("order-approvals")
    message = sqs.receive_messages("order-approvals", visibility_timeout=0)[0]
    sqs.send_message("order-approvals", message.body)  # a duplicate delivery

    first = actions.collect_approval_requests()
    second = actions.collect_approval_requests()

    assert (first.created, first.duplicates) == (1, 1)
    assert second.received == 0
    assert ApprovalRequest.objects.count() == 1
    assert sqs.queue_stats("order-approvals").visible == 0


def test_it_leaves_a_message_without_a_token_for_the_dead_letter_queue(approval_world):
    sqs.send_message("order-approvals", json.dumps({"orderId": "1"}))
    sqs.send_message("order-approvals", "not json")

    result = actions.collect_approval_requests()

    assert result.invalid == 2 and result.created == 0
    assert ApprovalRequest.objects.count() == 0


def test_it_expires_a_request_whose_step_timed_out_without_a_decision(approval_world):
    arn = approval_world.start_order("6890", 1500, timeout_seconds=1)
    req = _collect_one(approval_world)
    approval_world.wait_done(arn)

    result = actions.sweep_approval_requests()

    assert result.expired == 1
    req.refresh_from_db()
    assert req.status == ApprovalStatus.EXPIRED
    assert "timed out" in req.status_reason


def test_it_finishes_a_decision_that_crashed_after_aws_took_it(approval_world, monkeypatch):
    arn = approval_world.start_order("6900", 1500)
    req = _collect_one(approval_world)
    real = stepfunctions.send_task_success

    def crash_after_sending(token, output, env=None):
        real(token, output, env)
        raise AwsUnavailable("connection reset after the request was sent")

    monkeypatch.setattr(stepfunctions, "send_task_success", crash_after_sending)
    outcome = actions.decide(req.pk, actor=ANNA, decision="approve")
    assert outcome.outcome == "pending_send"
    monkeypatch.setattr(stepfunctions, "send_task_success", real)
    ApprovalRequest.objects.filter(pk=req.pk).update(
        send_started_at=timezone.now() - timedelta(minutes=5)
    )

    assert actions.sweep_approval_requests().resent == 1

    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED
    approval_world.wait_done(arn)
    assert _callback_answers(arn) == ["TaskSucceeded"]


# --- rules, with the gateway stood in for ---------------------------------------------


def test_it_keeps_a_decision_to_send_when_aws_is_unavailable_and_retries_it(gateway):
    req = make_request(token="tok-unavailable")
    gateway.raise_on_success = AwsUnavailable("AWS endpoint unreachable")

    outcome = actions.decide(req.pk, actor=ANNA, decision="approve")

    assert outcome.outcome == "pending_send"
    assert "retried automatically" in outcome.message
    req.refresh_from_db()
    assert req.status == ApprovalStatus.SENDING and req.pending_send
    with pytest.raises(actions.AlreadyDecided):
        actions.decide(req.pk, actor=BEN, decision="approve")

    gateway.raise_on_success = None
    assert actions.sweep_approval_requests().resent == 0  # too soon: maybe still in flight
    ApprovalRequest.objects.filter(pk=req.pk).update(
        send_started_at=timezone.now() - timedelta(minutes=2)
    )
    assert actions.sweep_approval_requests().resent == 1

    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED
    assert [t for t, _ in gateway.success] == ["tok-unavailable"]


def test_it_recognises_that_aws_already_took_a_decision_sent_before_a_crash(gateway, monkeypatch):
    req = make_request(token="tok-crash")
    real = gateway.send_task_success

    def crash_after_sending(token, output, env=None):
        real(token, output, env)
        raise AwsUnavailable("connection reset")

    monkeypatch.setattr(stepfunctions, "send_task_success", crash_after_sending)
    assert actions.decide(req.pk, actor=ANNA, decision="approve").outcome == "pending_send"
    monkeypatch.setattr(stepfunctions, "send_task_success", real)
    monkeypatch.setattr(decisions, "wait_fate", lambda arn, env: "TaskSucceeded")
    ApprovalRequest.objects.filter(pk=req.pk).update(
        send_started_at=timezone.now() - timedelta(minutes=5)
    )

    actions.sweep_approval_requests()

    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED
    assert "already received" in req.status_reason
    assert len(gateway.success) == 1


def test_it_maps_an_expired_token_to_an_expired_request(gateway):
    req = make_request()
    gateway.raise_on_success = TaskTokenExpired("Task Timed Out", code="TaskTimedOut")

    outcome = actions.decide(req.pk, actor=ANNA, decision="approve")

    assert outcome.outcome == "expired"
    req.refresh_from_db()
    assert req.status == ApprovalStatus.EXPIRED and "TaskTimedOut" in req.status_reason
    with pytest.raises(actions.AlreadyDecided) as refused:
        actions.decide(req.pk, actor=BEN, decision="approve")
    assert message_for(refused.value).startswith("This request is expired")


def test_it_sends_the_reason_of_a_rejection_as_the_cause(gateway):
    req = make_request(token="tok-reject")

    actions.decide(req.pk, actor=ANNA, decision="reject", reason="Card looks stolen")

    assert gateway.failure == [("tok-reject", "Rejected", "Card looks stolen")]
    req.refresh_from_db()
    assert req.status == ApprovalStatus.REJECTED


def test_it_requires_a_reason_to_reject(gateway):
    req = make_request()
    with pytest.raises(actions.InvalidDecision) as refused:
        actions.decide(req.pk, actor=ANNA, decision="reject", reason="  ")
    assert message_for(refused.value) == (
        "A rejection needs a reason: it is sent to the saga as the cause."
    )
    assert gateway.failure == []
    req.refresh_from_db()
    assert req.status == ApprovalStatus.PENDING


def test_it_lets_only_approvers_decide_and_audits_every_refusal(gateway):
    req = make_request()
    with pytest.raises(actions.NotAnApprover):
        actions.decide(req.pk, actor=VERA, decision="approve")
    assert AuditEvent.objects.filter(action="approval.approve", result="refused").count() == 1
    assert gateway.success == []


def test_it_decides_each_request_of_a_bulk_selection_on_its_own(gateway):
    a = make_request(business_key="1")
    b = make_request(business_key="2", requested_by=ANNA.id)
    c = make_request(business_key="3")

    items = actions.decide_many([a.pk, b.pk, c.pk], actor=ANNA, decision="approve")

    assert [i.ok for i in items] == [True, False, True]
    assert items[1].outcome == "approval.self_approval"
    assert len(gateway.success) == 2
    assert AuditEvent.objects.filter(action="approval.approve", result="succeeded").count() == 2


def test_it_refuses_a_bulk_selection_of_mixed_kinds(gateway):
    a = make_request()
    b = make_request(kind="closures", business_key="77")
    with pytest.raises(actions.MixedKinds):
        actions.decide_many([a.pk, b.pk], actor=ANNA, decision="approve")
    assert ApprovalDecision.objects.count() == 0


def test_it_lets_one_approver_claim_a_request_until_the_claim_expires(gateway):
    req = make_request()
    actions.claim(req.pk, actor=ANNA)
    with pytest.raises(actions.ClaimedByOther) as refused:
        actions.claim(req.pk, actor=BEN)
    assert message_for(refused.value).startswith("anna.approver@example.com is working on")

    ApprovalRequest.objects.filter(pk=req.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert actions.claim(req.pk, actor=BEN).claimed_by == BEN.id
    actions.unclaim(req.pk, actor=BEN)
    req.refresh_from_db()
    assert req.claim_holder() == ""


def test_it_closes_a_request_whose_execution_was_stopped(gateway, monkeypatch):
    from opsconsole.aws.stepfunctions import Execution

    req = make_request()
    stopped = Execution(
        arn=req.execution_arn,
        name="x",
        state_machine_arn="sm",
        status="ABORTED",
        started_at=timezone.now(),
        stopped_at=timezone.now(),
        input=None,
        output=None,
        error="Cancelled",
        cause=None,
    )
    monkeypatch.setattr(stepfunctions, "describe_execution", lambda arn, env=None: stopped)
    monkeypatch.setattr(decisions, "wait_fate", lambda arn, env: None)

    result = actions.sweep_approval_requests()

    assert result.closed == 1
    req.refresh_from_db()
    assert req.status == ApprovalStatus.CLOSED
    assert "ABORTED" in req.status_reason
    assert AuditEvent.objects.filter(action="approval.closed", target_id=str(req.pk)).exists()


def test_it_expires_a_request_whose_saga_timed_out_in_the_read_model(gateway):
    from sagas.models import Saga

    saga = Saga.objects.create(
        kind="orders",
        execution_arn="arn:aws:states:eu-west-1:123456789012:execution:OrderFulfillment:x",
        execution_name="x",
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFulfillment",
        business_key="8842",
        status="timed_out",
        sfn_status="TIMED_OUT",
        started_at=timezone.now() - timedelta(days=2),
    )
    req = make_request(execution_arn=saga.execution_arn)

    result = actions.sweep_approval_requests()

    assert result.linked == 1 and result.expired == 1
    req.refresh_from_db()
    assert req.saga == saga and req.status == ApprovalStatus.EXPIRED


def test_it_parses_what_the_order_state_machine_sends():
    from opsconsole.registry import get_registry

    queue = get_registry().approval_queue("order-approvals")
    now = timezone.now()
    body = {
        "taskToken": "t",
        "orderId": "8842",
        "executionArn": "arn:x",
        "amount": 12345.5,
        "currency": "EUR",
        "threshold": 1000,
        "correlationId": "c-1",
        "initiator": SERVICE,
        "heartbeatSeconds": 600,
    }

    parsed = actions.parse_message(queue, json.dumps(body), sent_at=now, now=now)

    assert parsed.summary == "order 8842, 12,345.50 EUR, above the 1,000 threshold"
    assert parsed.deadline == now + timedelta(seconds=600)
    assert parsed.initiator_id == "storefront"
    assert actions.parse_message(queue, "[]", sent_at=None, now=now) is None


def test_it_collects_the_seeded_demo_world_and_refuses_anna_on_her_own_order(aws):
    from opsconsole.emulator import seed
    from tests.helpers import wait_until

    seed.seed(orders=9, closures=5, well_known=True, dead_letters=False)
    by_key: dict[str, ApprovalRequest] = {}

    def collected_all() -> bool:
        actions.collect_approval_requests()
        by_key.update({r.business_key: r for r in ApprovalRequest.objects.all()})
        return {"8842", "8844", "77"} <= set(by_key)

    wait_until(collected_all, timeout=30, what="the well-known approval requests")

    assert by_key["8842"].requested_by == "storefront"
    assert by_key["77"].kind == "closures"
    with pytest.raises(actions.SelfApproval):
        actions.decide(by_key["8844"].pk, actor=ANNA, decision="approve")
    assert actions.decide(by_key["8842"].pk, actor=ANNA, decision="approve").outcome == "approved"
    # Let the resumed saga finish here, not in the next test's emulator.
    wait_until(
        lambda: stepfunctions.describe_execution(by_key["8842"].execution_arn).status != "RUNNING",
        timeout=20,
        what="order 8842 to finish",
    )
