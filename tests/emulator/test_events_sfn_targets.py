"""EventBridge rules start Step Functions state machines as AWS documents the target: the
event (or the part InputPath selects) is the input, Step Functions names the execution, a
refused delivery goes to the target's DLQ with the error attributes, a disabled rule
delivers nothing."""

from __future__ import annotations

import json

from opsconsole.aws import events, provisioning, sqs, stepfunctions
from tests.helpers import wait_until

ROLE = "arn:aws:iam::123456789012:role/events"
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def _rule(name: str, target: dict, *, enabled: bool = True) -> None:
    provisioning.ensure_event_bus("bus")
    provisioning.ensure_rule(
        name, "bus", {"source": ["test"]}, [target], state="ENABLED" if enabled else "DISABLED"
    )


def test_a_rule_starts_its_state_machine_with_the_selected_input(aws):
    sm = stepfunctions.ensure_state_machine("Started", PASS, ROLE)
    _rule("starts", {"Id": "sm", "Arn": sm, "RoleArn": ROLE, "InputPath": "$.detail"})
    events.put_events("bus", "test", "Thing", [{"thing": 1}])
    started = wait_until(lambda: list(stepfunctions.iter_executions(sm)), what="an execution")
    assert len(started) == 1
    assert len(started[0].name) == 36  # named by Step Functions (a UUID)
    assert json.loads(stepfunctions.describe_execution(started[0].arn).input or "") == {"thing": 1}


def test_a_disabled_rule_starts_nothing(aws):
    sm = stepfunctions.ensure_state_machine("NotStarted", PASS, ROLE)
    _rule("off", {"Id": "sm", "Arn": sm, "RoleArn": ROLE}, enabled=False)
    events.put_events("bus", "test", "Thing", [{"thing": 1}])
    assert list(stepfunctions.iter_executions(sm)) == []


def test_a_refused_delivery_goes_to_the_targets_dead_letter_queue(aws):
    dlq = provisioning.ensure_queue("rule-dlq")
    missing = "arn:aws:states:eu-west-1:123456789012:stateMachine:Gone"
    target = {"Id": "sm", "Arn": missing, "RoleArn": ROLE, "DeadLetterConfig": {"Arn": dlq.arn}}
    _rule("to-nowhere", target)
    events.put_events("bus", "test", "Thing", [{"thing": 2}])
    found = wait_until(lambda: sqs.receive_messages(dlq.url, max_messages=1), what="a DLQ message")
    assert json.loads(found[0].body)["detail"] == {"thing": 2}
    attributes = found[0].message_attributes
    assert attributes["TARGET_ARN"] == missing
    assert attributes["RULE_ARN"].endswith("rule/bus/to-nowhere")
    assert attributes["ERROR_CODE"]
