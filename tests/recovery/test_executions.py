"""Redrive, restart, stop and mark resolved on one saga, as an operator does them from the
case page: preview, confirmation, one action however often it is pressed, audit, events, and
the verified outcome."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from opsconsole import events
from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent
from opsconsole.aws import dynamodb, provisioning, stepfunctions
from opsconsole.recovery.executions import actions
from opsconsole.recovery.executions.errors import (
    AlreadyInProgress,
    InvalidRecoveryInput,
    NotEligible,
)
from opsconsole.recovery.executions.models import SagaAction
from sagas.models import Saga
from tests.helpers import wait_until
from tests.recovery.test_executions_emulator import MACHINE, ROLE, TABLE

pytestmark = pytest.mark.django_db

OPERATOR = Actor(type="user", id="operator", role="operator")


def _finished(arn: str) -> stepfunctions.Execution:
    def done():
        found = stepfunctions.describe_execution(arn)
        return found if found and found.status != "RUNNING" else None

    return wait_until(done, timeout=20, what="the execution to stop")


def _saga_for(arn: str, sm: str, **fields) -> Saga:
    found = stepfunctions.describe_execution(arn)
    return Saga.objects.create(
        kind="orders",
        execution_arn=arn,
        execution_name=arn.rsplit(":", 1)[-1],
        state_machine_arn=sm,
        business_key=fields.pop("business_key", "9001"),
        correlation_id="corr-9001",
        status=fields.pop("status", "failed"),
        sfn_status=found.status,
        started_at=found.started_at,
        stopped_at=found.stopped_at,
        current_step=fields.pop("current_step", "BookSlot"),
        **fields,
    )


@pytest.fixture
def failed(aws):
    """A booking saga that failed at BookSlot because the slot is closed (no Catch)."""
    provisioning.ensure_table(TABLE, "pk")
    dynamodb.put_item(TABLE, {"pk": "SLOT#1", "closed": True})
    sm = stepfunctions.ensure_state_machine("Booking", MACHINE, ROLE)
    arn = stepfunctions.start_execution(sm, "booking-9001-1", {"slot": "SLOT#1", "n": 1})
    _finished(arn)
    return _saga_for(arn, sm)


@pytest.fixture
def told():
    seen: list[events.DomainEvent] = []
    events.subscribe("test-recovery", seen.append)
    yield seen
    events.unsubscribe("test-recovery")


def test_an_operator_redrives_a_failed_saga_after_fixing_its_cause(failed, operator_client, told):
    page = operator_client.get(f"/recovery/sagas/{failed.pk}/redrive/").content.decode()
    assert "resumes at BookSlot" in page
    assert "redrive #1" in page

    dynamodb.put_item(TABLE, {"pk": "SLOT#1"})  # the courier reopened the slot
    response = operator_client.post(
        f"/recovery/sagas/{failed.pk}/redrive/",
        {"ticket": "INC0012345", "reason": "slot reopened", "confirm": "yes"},
    )
    assert response.status_code == 302
    record = SagaAction.objects.get(saga=failed)
    assert (record.action, record.seq, record.state) == ("redrive", 1, "verifying")
    assert [e.type for e in told] == ["saga.redriven"]
    assert told[0].data["ticket"] == "INC0012345"

    _finished(failed.execution_arn)
    actions.verify()
    record.refresh_from_db()
    assert record.state == "recovered"
    assert stepfunctions.describe_execution(failed.execution_arn).redrive_count == 1
    audit = AuditEvent.objects.filter(action="saga.redrive").order_by("id")
    assert [a.result for a in audit] == ["started", "succeeded"]
    assert audit[0].ticket == "INC0012345"
    panel = operator_client.get(f"/recovery/sagas/{failed.pk}/").content.decode()
    assert 'data-state="recovered"' in panel


def test_two_operators_pressing_redrive_at_once_make_one_redrive(failed, monkeypatch):
    # Both read the saga (eligible, next redrive #1) at the same instant; one claim wins.
    monkeypatch.setattr(actions, "_eligibility", lambda saga, action: actions.eligibility.OK)
    monkeypatch.setattr(actions, "_seq", lambda saga, action: 1)
    first = actions.act(failed.pk, actions.Request("redrive", OPERATOR, reason="first"))
    other = Actor(type="user", id="operator-2", role="operator")
    with pytest.raises(AlreadyInProgress) as refused:
        actions.act(failed.pk, actions.Request("redrive", other, reason="second"))
    assert refused.value.params["by"] == "operator"
    assert first.seq == 1
    assert SagaAction.objects.filter(saga=failed).count() == 1
    _finished(failed.execution_arn)
    assert stepfunctions.describe_execution(failed.execution_arn).redrive_count == 1
    assert AuditEvent.objects.filter(action="saga.redrive", result="refused").count() == 1


def test_the_same_request_twice_is_one_redrive(failed):
    request = actions.Request("redrive", OPERATOR, idempotency_key="form-1")
    first = actions.act(failed.pk, request)
    again = actions.act(failed.pk, request)
    assert first.pk == again.pk
    _finished(failed.execution_arn)
    assert stepfunctions.describe_execution(failed.execution_arn).redrive_count == 1


def test_a_redrive_that_would_only_rerun_a_fail_state_is_not_offered(aws, operator_client):
    machine = {
        "StartAt": "Try",
        "States": {
            "Try": {
                "Type": "Pass",
                "Next": "Parked",
            },
            "Parked": {"Type": "Fail", "Error": "NeedsReview", "Cause": "parked"},
        },
    }
    sm = stepfunctions.ensure_state_machine("Parks", machine, ROLE)
    arn = stepfunctions.start_execution(sm, "parks-1", {})
    _finished(arn)
    saga = _saga_for(arn, sm, status="failed")
    page = operator_client.get(f"/recovery/sagas/{saga.pk}/redrive/").content.decode()
    assert "Fail state Parked" in page
    assert "restart it instead" in page
    response = operator_client.post(f"/recovery/sagas/{saga.pk}/redrive/", {"confirm": "yes"})
    assert response.status_code == 200  # the page again, saying why; nothing was sent
    assert stepfunctions.describe_execution(arn).redrive_count == 0


def test_a_compensated_saga_is_not_offered_a_redrive_from_the_read_model(failed):
    failed.status = "compensated"
    failed.compensation_ran = True
    failed.save()
    with pytest.raises(NotEligible) as refused:
        actions.act(failed.pk, actions.Request("redrive", OPERATOR))
    assert "restart it instead" in refused.value.params["why"]
    assert AuditEvent.objects.get(action="saga.redrive").result == "refused"


def test_an_operator_restarts_with_a_corrected_input_and_the_runs_are_linked(
    failed, operator_client, told
):
    url = f"/recovery/sagas/{failed.pk}/restart/"
    page = operator_client.get(url).content.decode()
    assert "SLOT#1" in page  # the current input, to correct
    corrected = json.dumps({"slot": "SLOT#2", "n": 1})
    shown = operator_client.post(
        url, {"use_corrected": "1", "input": corrected, "confirm": "yes", "ticket": "INC1"}
    ).content.decode()
    assert 'id="input-diff"' in shown
    assert "SLOT#2" in shown
    assert not SagaAction.objects.exists()  # nothing sent before the diff was confirmed
    response = operator_client.post(
        url,
        {
            "use_corrected": "1",
            "input": corrected,
            "confirm": "yes",
            "step": "confirm",
            "ticket": "INC1",
        },
    )
    assert response.status_code == 302
    record = SagaAction.objects.get(saga=failed, action="restart")
    assert record.new_execution_arn.endswith(":booking-9001-1-r1")
    new = _finished(record.new_execution_arn)
    assert new.status == "SUCCEEDED"
    assert json.loads(new.input) == {"slot": "SLOT#2", "n": 1}
    assert [e.type for e in told] == ["saga.restarted"]
    audit = AuditEvent.objects.filter(action="saga.restart", result="started").get()
    assert "SLOT#2" in audit.details["input_diff"]

    new_saga = _saga_for(record.new_execution_arn, failed.state_machine_arn, status="succeeded")
    runs = actions.runs_of(new_saga)
    assert [r.name for r in runs] == ["booking-9001-1", "booking-9001-1-r1"]
    assert [r.current for r in runs] == [False, True]
    assert [r.name for r in actions.runs_of(failed)] == ["booking-9001-1", "booking-9001-1-r1"]
    # Restarting the old run again is refused: the latest run is the one to act on.
    with pytest.raises(NotEligible, match="recovery.not_eligible"):
        actions.act(failed.pk, actions.Request("restart", OPERATOR))


@pytest.mark.parametrize(
    ("text", "problem"),
    [("{not json", "not_json"), (json.dumps({"x": "a" * 262_200}), "too_large")],
)
def test_a_bad_corrected_input_is_refused_before_anything_is_sent(
    failed, operator_client, text, problem
):
    with pytest.raises(InvalidRecoveryInput) as refused:
        actions.parse_corrected_input(text, "{}", {})
    assert refused.value.params["problem"] == problem
    response = operator_client.post(
        f"/recovery/sagas/{failed.pk}/restart/",
        {"use_corrected": "1", "input": text, "confirm": "yes", "step": "confirm"},
    )
    assert response.status_code == 400
    assert not SagaAction.objects.exists()
    assert len(list(stepfunctions.iter_executions(failed.state_machine_arn))) == 1


def test_masked_values_left_alone_keep_their_original_value():
    original = json.dumps({"card": "tok_4242", "slot": "A"})
    corrected = actions.parse_corrected_input(
        json.dumps({"card": "••••••", "slot": "B"}), original, {"card": "••••••", "slot": "A"}
    )
    assert json.loads(corrected.text) == {"card": "tok_4242", "slot": "B"}
    assert "tok_4242" not in corrected.diff


def test_an_operator_stops_a_running_saga_with_a_reason(aws, operator_client, told):
    queue = provisioning.ensure_queue("waits")
    machine = {
        "StartAt": "AwaitApproval",
        "States": {
            "AwaitApproval": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue.url, "MessageBody": {"t.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    sm = stepfunctions.ensure_state_machine("Waits", machine, ROLE)
    arn = stepfunctions.start_execution(sm, "w-9002", {})
    wait_until(
        lambda: any(e.type == "TaskSubmitted" for e in stepfunctions.get_execution_history(arn)),
        what="the approval to be asked",
    )
    saga = _saga_for(arn, sm, status="waiting", current_step="AwaitApproval")
    url = f"/recovery/sagas/{saga.pk}/stop/"
    refused = operator_client.post(url, {"confirm": "yes", "reason": ""})
    assert refused.status_code == 400 or "required" in refused.content.decode()
    response = operator_client.post(url, {"confirm": "yes", "reason": "customer cancelled"})
    assert response.status_code == 302
    stopped = _finished(arn)
    assert (stopped.status, stopped.error, stopped.cause) == (
        "ABORTED",
        "OperatorStopped",
        "customer cancelled",
    )
    assert [e.type for e in told] == ["saga.stopped"]
    actions.verify()
    assert SagaAction.objects.get(saga=saga).state == "done"


def test_an_operator_marks_a_failed_saga_resolved_with_a_note(failed, operator_client, told):
    url = f"/recovery/sagas/{failed.pk}/resolve/"
    response = operator_client.post(url, {"confirm": "yes", "reason": "refunded by hand in Stripe"})
    assert response.status_code == 302
    record = SagaAction.objects.get(saga=failed)
    assert (record.action, record.state) == ("resolve", "done")
    assert [e.type for e in told] == ["saga.resolved"]
    panel = operator_client.get(f"/recovery/sagas/{failed.pk}/").content.decode()
    assert "refunded by hand in Stripe" in panel
    assert "marked resolved by hand" in panel  # redrive and restart no longer offered


def test_viewers_see_the_panel_but_cannot_act(failed, viewer_client):
    panel = viewer_client.get(f"/recovery/sagas/{failed.pk}/").content.decode()
    assert "(operators)" in panel
    response = viewer_client.post(f"/recovery/sagas/{failed.pk}/redrive/", {"confirm": "yes"})
    assert response.status_code == 403
    assert not SagaAction.objects.exists()


def test_an_aws_refusal_is_a_clear_message(failed, monkeypatch):
    from opsconsole.aws import errors

    def refuse(*args, **kwargs):
        raise errors.ExecutionNotRedrivable(
            "Execution redrivable period exceeded", code="ExecutionNotRedrivable"
        )

    monkeypatch.setattr(stepfunctions, "redrive_execution", refuse)
    monkeypatch.setattr(stepfunctions, "describe_execution", lambda *a, **k: None)
    from opsconsole.recovery.executions.errors import RefusedByAws

    with pytest.raises(RefusedByAws) as refused:
        actions.act(failed.pk, actions.Request("redrive", OPERATOR))
    assert "redrivable period exceeded" in refused.value.params["detail"]
    assert SagaAction.objects.get(saga=failed).state == "failed"
    assert timezone.now()


def test_the_panel_does_not_offer_a_redrive_of_a_saga_that_ended_in_a_fail_state(
    aws, operator_client
):
    """A closure like account 80: its error was caught, an alert sent, then a Fail state.
    Once the case page has read the definition, the panel says why not instead of offering
    a redrive the redrive page would refuse; an uncaught failure is still offered."""
    from django.core.cache import cache

    machine = {
        "StartAt": "Try",
        "States": {
            "Try": {"Type": "Pass", "Next": "ClosureFailed"},
            "ClosureFailed": {"Type": "Fail", "Error": "AccountClosureFailed", "Cause": "x"},
        },
    }
    sm = stepfunctions.ensure_state_machine("Closes", machine, ROLE)
    arn = stepfunctions.start_execution(sm, "closes-1", {})
    _finished(arn)
    saga = _saga_for(arn, sm, status="failed", last_error="AccountClosureFailed")
    url = f"/recovery/sagas/{saga.pk}/"
    redrive = f"/recovery/sagas/{saga.pk}/redrive/"
    cache.clear()
    assert redrive in operator_client.get(url).content.decode()  # the definition not read yet
    from sagas.actions import state_machine_definition

    assert state_machine_definition(saga)[0] == machine  # what the case page reads and keeps
    panel = operator_client.get(url).content.decode()
    assert "Fail state ClosureFailed" in panel
    assert redrive not in panel
    saga.last_error = "DynamoDB.ConditionalCheckFailedException"  # uncaught: offered
    saga.save()
    assert redrive in operator_client.get(url).content.decode()
