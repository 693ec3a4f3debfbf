"""The DLQ gateways: Lambda re-invocation against recorded AWS answers (botocore Stubber:
Lambda code cannot run in the emulator), EventBridge re-puts, and looking without taking."""

from __future__ import annotations

import time

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from opsconsole.aws import awslambda, clients, errors, provisioning, sqs
from opsconsole.aws import events as aws_events

pytestmark = pytest.mark.django_db

FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:notify-customer"

# Answers recorded from AWS (Lambda Invoke with InvocationType=Event), trimmed to what the
# gateway reads.
ACCEPTED = {
    "StatusCode": 202,
    "Payload": StreamingBody(__import__("io").BytesIO(b""), 0),
    "ResponseMetadata": {
        "RequestId": "5c0d9b7e-0f3a-4d7e-9f1e-2b1c3d4e5f60",
        "HTTPStatusCode": 202,
    },
}


def test_it_invokes_a_function_asynchronously_with_the_original_payload(aws):
    lam = clients.client("lambda")
    with Stubber(lam) as stub:
        stub.add_response(
            "invoke",
            ACCEPTED,
            {
                "FunctionName": FUNCTION,
                "InvocationType": "Event",
                "Payload": b'{"orderId": "8845"}',
            },
        )
        result = awslambda.invoke_async(FUNCTION, '{"orderId": "8845"}')
        stub.assert_no_pending_responses()
    assert result.status_code == 202
    assert result.request_id == "5c0d9b7e-0f3a-4d7e-9f1e-2b1c3d4e5f60"


def test_it_names_a_missing_function_and_a_throttled_invoke(aws):
    lam = clients.client("lambda")
    with Stubber(lam) as stub:
        stub.add_client_error(
            "invoke",
            service_error_code="ResourceNotFoundException",
            service_message=f"Function not found: {FUNCTION}",
            http_status_code=404,
        )
        stub.add_client_error(
            "invoke",
            service_error_code="TooManyRequestsException",
            service_message="Rate Exceeded.",
            http_status_code=429,
        )
        with pytest.raises(errors.ResourceNotFound, match="Function not found"):
            awslambda.invoke_async(FUNCTION, "{}")
        with pytest.raises(errors.Throttled):
            awslambda.invoke_async(FUNCTION, "{}")


def test_it_puts_an_event_on_its_bus_again_and_reports_each_entry(aws):
    provisioning.ensure_event_bus("orders-bus")
    entry = {"Source": "demo.orders", "DetailType": "OrderPlaced", "Detail": '{"a": 1}'}
    put = aws_events.put_entries("orders-bus", [entry, entry])
    assert len(put.event_ids) == 2
    assert all(put.event_ids) and put.errors == [None, None]


def test_a_look_leaves_every_message_visible_again(aws):
    dlq = provisioning.ensure_queue("big-dlq")
    provisioning.send_messages(
        dlq.url, [provisioning.OutgoingMessage(f"m{i}", ()) for i in range(120)]
    )
    seen = sqs.peek_messages(dlq.url, limit=500)
    released = time.monotonic()
    assert len({m.message_id for m in seen}) == 120
    stats = sqs.queue_stats(dlq.url)
    assert (stats.visible, stats.in_flight) == (120, 0)
    assert time.monotonic() - released < 2
    assert {m.receive_count for m in sqs.peek_messages(dlq.url, limit=500)} == {2}
