"""The AWS gateway against moto: pagination, error mapping, timeouts, dataclasses out."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from opsconsole.aws import clients, dynamodb, errors, events, sqs, stepfunctions
from tests.helpers import wait_until

PASS_MACHINE = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
WAIT_MACHINE = {
    "StartAt": "Wait",
    "States": {
        "Wait": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl.$": "$.queue", "MessageBody": {"token.$": "$$.Task.Token"}},
            "End": True,
        }
    },
}
ROLE = "arn:aws:iam::123456789012:role/sfn"


def test_it_pages_through_every_execution_newest_first(aws):
    arn = stepfunctions.ensure_state_machine("Paged", PASS_MACHINE, ROLE)
    for i in range(7):
        stepfunctions.start_execution(arn, f"run-{i}", {"i": i})
    seen = list(stepfunctions.iter_executions(arn, page_size=3))
    assert len(seen) == 7
    assert {e.name for e in seen} == {f"run-{i}" for i in range(7)}
    assert all(isinstance(e, stepfunctions.ExecutionSummary) for e in seen)
    starts = [e.started_at for e in seen]
    assert starts == sorted(starts, reverse=True)


def test_it_updates_an_existing_state_machine_instead_of_failing(aws):
    first = stepfunctions.ensure_state_machine("Twice", PASS_MACHINE, ROLE)
    second = stepfunctions.ensure_state_machine("Twice", PASS_MACHINE, ROLE)
    assert first == second
    assert [m.name for m in stepfunctions.list_state_machines()] == ["Twice"]


def test_it_returns_none_for_what_does_not_exist(aws):
    missing = "arn:aws:states:eu-west-1:123456789012:execution:Nope:nothing"
    assert stepfunctions.describe_execution(missing) is None
    assert sqs.queue_url("no-such-queue") is None
    assert dynamodb.get_item.__doc__  # gateways document themselves
    assert events.describe_archive("no-such-archive") is None


def test_it_names_a_dead_task_token(aws):
    url = clients.client("sqs").create_queue(QueueName="waits")["QueueUrl"]
    arn = stepfunctions.ensure_state_machine("Waits", WAIT_MACHINE, ROLE)
    execution = stepfunctions.start_execution(arn, "w1", {"queue": url})

    def token() -> str | None:
        messages = sqs.receive_messages("waits")
        return json.loads(messages[0].body)["token"] if messages else None

    found = wait_until(token, timeout=15, what="the waiting step's task token")
    stepfunctions.send_task_success(found, {"approved": True})
    # The emulator accepts a second answer until the step has consumed the first; AWS
    # refuses at once. Either way, once the execution moved on the token is dead.
    wait_until(
        lambda: stepfunctions.describe_execution(execution).status != "RUNNING",
        what="the execution to finish",
    )
    with pytest.raises(errors.TaskTokenInvalid):
        stepfunctions.send_task_success(found, {"approved": True})
    with pytest.raises(errors.TaskTokenInvalid):
        stepfunctions.send_task_failure("not-a-token", "Rejected", "no")
    described = stepfunctions.describe_execution(execution)
    assert described is not None and described.name == "w1"


def test_it_reads_history_as_typed_events(aws):
    arn = stepfunctions.ensure_state_machine("History", PASS_MACHINE, ROLE)
    execution = stepfunctions.start_execution(arn, "h1", {"x": 1})
    wait_until(
        lambda: stepfunctions.describe_execution(execution).status != "RUNNING",
        what="the execution to finish",
    )
    history = stepfunctions.get_execution_history(execution)
    assert history[0].type == "ExecutionStarted"
    assert json.loads(history[0].details["input"]) == {"x": 1}
    assert history[-1].type == "ExecutionSucceeded"
    assert [e.id for e in history] == sorted(e.id for e in history)


def test_it_reads_queue_depth_and_redrive_policy(aws):
    sqs_client = clients.client("sqs")
    dlq_url = sqs_client.create_queue(QueueName="work-dlq")["QueueUrl"]
    dlq_arn = sqs.queue_stats("work-dlq").arn
    sqs_client.create_queue(
        QueueName="work",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        },
    )
    sqs.send_message(dlq_url, "not json {", attributes={"correlationId": "c-1"})
    stats = sqs.queue_stats("work")
    assert stats.max_receive_count == 3
    assert stats.dead_letter_target_arn == dlq_arn
    assert sqs.queue_stats("work-dlq").visible == 1
    message = sqs.receive_messages("work-dlq")[0]
    assert message.body == "not json {"
    assert message.message_attributes == {"correlationId": "c-1"}
    assert message.sent_at is not None


def test_it_deserializes_dynamodb_items_to_plain_values(aws):
    clients.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item("orders", {"pk": "ORDER#1", "sk": "META", "amount": 12.5, "qty": 3})
    dynamodb.put_item("orders", {"pk": "ORDER#1", "sk": "PAYMENT", "status": "CHARGED"})
    items = dynamodb.query_partition("orders", "pk", "ORDER#1")
    values = {i.values["sk"]: i.values for i in items}
    assert values["META"]["amount"] == 12.5 and values["META"]["qty"] == 3
    assert values["PAYMENT"]["status"] == "CHARGED"
    found = dynamodb.batch_get_items("orders", [{"pk": "ORDER#1", "sk": "META"}])
    assert found[0]["qty"] == 3


def _silent_server() -> tuple[socket.socket, int]:
    """A TCP server that accepts connections and never answers (a hung endpoint)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server, server.getsockname()[1]


def test_it_gives_up_on_a_hung_endpoint_within_its_timeouts(settings):
    server, port = _silent_server()
    settings.AWS_READ_TIMEOUT = 0.3
    settings.AWS_MAX_ATTEMPTS = 2
    try:
        with clients.endpoint_override(f"http://127.0.0.1:{port}"):
            started = time.monotonic()
            with pytest.raises(errors.AwsUnavailable):
                stepfunctions.list_state_machines()
            elapsed = time.monotonic() - started
    finally:
        server.close()
    assert elapsed < 5


def test_it_names_an_unreachable_endpoint(settings):
    settings.AWS_CONNECT_TIMEOUT = 0.2
    settings.AWS_MAX_ATTEMPTS = 1
    with (
        clients.endpoint_override("http://127.0.0.1:9"),
        pytest.raises(errors.AwsUnavailable) as caught,
    ):
        sqs.queue_stats("anything")
    assert "unreachable" in str(caught.value)


def test_it_maps_throttling_to_a_retryable_error():
    from botocore.exceptions import ClientError

    exc = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "X")
    mapped = errors.translate(exc, operation="SendTaskSuccess")
    assert isinstance(mapped, errors.Throttled)
    assert isinstance(mapped, errors.AwsUnavailable)
    timed_out = ClientError({"Error": {"Code": "TaskTimedOut", "Message": "late"}}, "X")
    assert isinstance(errors.translate(timed_out), errors.TaskTokenExpired)
