"""The emulator puts Step Functions "Execution Status Change" events on the default bus as AWS
does, and the world's rule delivers those of its state machines to the console's queue."""

from __future__ import annotations

import json

from opsconsole.aws import sqs, stepfunctions
from opsconsole.emulator import seed, sfn_events, world
from tests.helpers import wait_until


def _drain(url: str, arn: str | None = None) -> list[dict]:
    """The status change events in the queue (of `arn` only, when given: an execution of an
    earlier test, still ending in moto's threads, may announce itself here too)."""
    out = []
    while True:
        got = sqs.receive_messages(url, max_messages=10)
        if not got:
            return out
        for m in got:
            event = json.loads(m.body)
            if arn is None or event["detail"]["executionArn"] == arn:
                out.append(event)
            sqs.delete_message(url, m.receipt_handle)


def test_it_sends_running_then_the_outcome_with_the_input(built):
    url = built.queue_urls[world.STATUS_EVENTS_QUEUE]
    payload = seed._order("7300", "declined", 7300).payload
    arn = stepfunctions.start_execution(built.order_state_machine_arn, "order-7300-1", payload)
    seen: list[dict] = []

    def both():
        seen.extend(_drain(url, arn))
        return len(seen) >= 2 and seen

    events = wait_until(both, timeout=60, what="two status change events")
    assert [e["detail"]["status"] for e in events] == ["RUNNING", "FAILED"]
    running, failed = events
    assert running["source"] == "aws.states"
    assert running["detail-type"] == "Step Functions Execution Status Change"
    assert running["resources"] == [arn]
    assert running["account"] == "123456789012"
    detail = running["detail"]
    assert detail["executionArn"] == arn
    assert detail["stateMachineArn"] == built.order_state_machine_arn
    assert detail["name"] == "order-7300-1"
    assert detail["inputDetails"] == {"included": True}
    assert json.loads(detail["input"])["data"]["orderId"] == "7300"
    assert detail["stopDate"] is None
    assert isinstance(detail["startDate"], int)
    assert failed["detail"]["stopDate"] >= detail["startDate"]
    assert failed["detail"]["error"]


def test_an_input_too_big_for_an_event_is_left_out(built, monkeypatch):
    monkeypatch.setattr(sfn_events, "INCLUDED_LIMIT", 10)
    url = built.queue_urls[world.STATUS_EVENTS_QUEUE]
    payload = seed._order("7301", "declined", 7301).payload
    arn = stepfunctions.start_execution(built.order_state_machine_arn, "order-7301-1", payload)
    event = wait_until(lambda: _drain(url, arn), timeout=30, what="an event")[0]
    assert event["detail"]["input"] is None
    assert event["detail"]["inputDetails"] == {"included": False}


def test_a_stopped_execution_is_announced_aborted(built):
    url = built.queue_urls[world.STATUS_EVENTS_QUEUE]
    payload = seed._order("7302", "running", 7302).payload  # waits hours for its dispatch
    arn = stepfunctions.start_execution(built.order_state_machine_arn, "order-7302-1", payload)
    first = wait_until(lambda: _drain(url, arn), timeout=30, what="RUNNING")
    assert [e["detail"]["status"] for e in first] == ["RUNNING"]
    wait_until(
        lambda: any(e.type == "WaitStateEntered" for e in stepfunctions.get_execution_history(arn)),
        timeout=60,
        what="the order to wait for its dispatch date",
    )
    stepfunctions.stop_execution(arn, "Stopped", "by the test")
    event = wait_until(lambda: _drain(url, arn), timeout=30, what="ABORTED")[0]
    assert event["detail"]["status"] == "ABORTED"
