"""The emulator's RedriveExecution behaves as AWS documents it: the same execution resumes at
the state that did not complete, its history continues, client tokens make it idempotent."""

from __future__ import annotations

import pytest

from opsconsole.aws import dynamodb, errors, provisioning, stepfunctions
from tests.helpers import wait_until

ROLE = "arn:aws:iam::123456789012:role/sfn"
TABLE = "slots"
# Book a slot (refused while the slot is closed: no Catch, so the execution fails there),
# after a step that must not run twice.
MACHINE = {
    "StartAt": "CountAttempt",
    "States": {
        "CountAttempt": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": TABLE,
                "Key": {"pk": {"S": "COUNTER"}},
                "UpdateExpression": "ADD runs :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
            "ResultPath": None,
            "Next": "BookSlot",
        },
        "BookSlot": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": TABLE,
                "Key": {"pk": {"S.$": "$.slot"}},
                "UpdateExpression": "ADD booked :one",
                "ConditionExpression": "attribute_not_exists(closed)",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            },
            "ResultPath": None,
            "End": True,
        },
    },
}


def _finished(arn: str) -> stepfunctions.Execution:
    def done():
        found = stepfunctions.describe_execution(arn)
        return found if found and found.status != "RUNNING" else None

    return wait_until(done, timeout=20, what="the execution to stop")


@pytest.fixture
def failed_execution(aws):
    provisioning.ensure_table(TABLE, "pk")
    dynamodb.put_item(TABLE, {"pk": "SLOT#1", "closed": True})
    sm = stepfunctions.ensure_state_machine("Booking", MACHINE, ROLE)
    arn = stepfunctions.start_execution(sm, "booking-1", {"slot": "SLOT#1"})
    assert _finished(arn).status == "FAILED"
    return arn


def test_it_resumes_the_same_execution_at_its_failed_state_after_the_cause_is_fixed(
    failed_execution,
):
    arn = failed_execution
    before = stepfunctions.describe_execution(arn)
    assert (before.redrive_status, before.redrive_count) == ("REDRIVABLE", 0)
    history_before = stepfunctions.get_execution_history(arn)

    dynamodb.put_item(TABLE, {"pk": "SLOT#1"})  # the courier reopened the slot
    assert stepfunctions.redrive_execution(arn, "token-1") is not None

    after = _finished(arn)
    assert after.status == "SUCCEEDED"
    assert after.redrive_count == 1
    assert after.redrive_status == "NOT_REDRIVABLE"
    assert "SUCCEEDED" in (after.redrive_status_reason or "")
    history = stepfunctions.get_execution_history(arn)
    assert [e.id for e in history] == list(range(1, len(history) + 1))
    assert history[: len(history_before)] == history_before
    redriven = history[len(history_before)]
    assert redriven.type == "ExecutionRedriven"
    assert redriven.details == {"redriveCount": 1}
    entered = [e.details.get("name") for e in history if e.type == "TaskStateEntered"]
    # The step that completed is not run again; the failed one is.
    assert entered == ["CountAttempt", "BookSlot", "BookSlot"]
    assert dynamodb.get_item(TABLE, {"pk": "COUNTER"})["runs"] == 1
    assert dynamodb.get_item(TABLE, {"pk": "SLOT#1"})["booked"] == 1


def test_it_redrives_once_for_a_repeated_client_token(failed_execution):
    arn = failed_execution
    first = stepfunctions.redrive_execution(arn, "same-token")
    again = stepfunctions.redrive_execution(arn, "same-token")
    assert first == again
    assert _finished(arn).status == "FAILED"  # the slot is still closed: it fails again
    assert stepfunctions.describe_execution(arn).redrive_count == 1
    # Another token is another redrive.
    stepfunctions.redrive_execution(arn, "other-token")
    assert _finished(arn).redrive_count == 2


def test_it_refuses_to_redrive_a_running_or_succeeded_execution(aws):
    provisioning.ensure_table(TABLE, "pk")
    sm = stepfunctions.ensure_state_machine("Booking", MACHINE, ROLE)
    arn = stepfunctions.start_execution(sm, "booking-2", {"slot": "SLOT#2"})
    assert _finished(arn).status == "SUCCEEDED"
    with pytest.raises(errors.ExecutionNotRedrivable, match="SUCCEEDED"):
        stepfunctions.redrive_execution(arn, "t")


def test_it_keeps_the_error_and_cause_of_a_stop(aws):
    queue = provisioning.ensure_queue("waits")
    machine = {
        "StartAt": "Wait",
        "States": {
            "Wait": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": queue.url, "MessageBody": {"t.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    sm = stepfunctions.ensure_state_machine("Waits", machine, ROLE)
    arn = stepfunctions.start_execution(sm, "w-1", {})
    wait_until(
        lambda: any(e.type == "TaskSubmitted" for e in stepfunctions.get_execution_history(arn)),
        what="the task to be submitted",
    )
    stepfunctions.stop_execution(arn, "OperatorStopped", "customer called, INC0012345")
    stopped = _finished(arn)
    assert (stopped.status, stopped.error, stopped.cause) == (
        "ABORTED",
        "OperatorStopped",
        "customer called, INC0012345",
    )
    assert stopped.redrive_status == "REDRIVABLE"
