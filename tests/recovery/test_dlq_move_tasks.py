"""The emulator's SQS message move tasks behave as AWS documents them, through the gateway."""

from __future__ import annotations

import time

import pytest

from opsconsole.aws import errors, provisioning, sqs

pytestmark = pytest.mark.django_db


def _world(n: int = 5) -> tuple[str, str, str]:
    dlq = provisioning.ensure_queue("work-dlq")
    source = provisioning.ensure_queue(
        "work", provisioning.redrive_attributes(dlq.arn, max_receive_count=1)
    )
    provisioning.send_messages(
        dlq.url,
        [provisioning.OutgoingMessage(f'{{"n": {i}}}', (("k", str(i)),)) for i in range(n)],
    )
    return dlq.arn, source.url, dlq.url


def _wait_for(arn: str, status: str, timeout: float = 10.0) -> sqs.MoveTask:
    deadline = time.monotonic() + timeout
    while True:
        task = sqs.list_message_move_tasks(arn)[0]
        if task.status == status or time.monotonic() > deadline:
            return task
        time.sleep(0.02)


def test_it_moves_every_message_back_to_its_source_with_a_new_id(aws):
    arn, source_url, dlq_url = _world(5)
    before = {m.message_id for m in sqs.peek_messages(dlq_url, limit=10)}
    handle = sqs.start_message_move_task(arn)
    assert handle
    task = _wait_for(arn, "COMPLETED")
    assert (task.status, task.moved, task.to_move) == ("COMPLETED", 5, 5)
    assert task.handle is None  # AWS returns the handle only while the task runs
    moved = sqs.peek_messages(source_url, limit=10)
    assert sorted(m.body for m in moved) == [f'{{"n": {i}}}' for i in range(5)]
    assert not before & {m.message_id for m in moved}
    assert {m.message_attributes["k"] for m in moved} == {str(i) for i in range(5)}
    assert sqs.queue_stats(dlq_url).visible == 0


def test_it_allows_one_active_task_per_queue_and_cancel_stops_it(aws):
    arn, _source, _dlq = _world(30)
    handle = sqs.start_message_move_task(arn, max_per_second=5)
    with pytest.raises(errors.MoveTaskAlreadyRunning):
        sqs.start_message_move_task(arn)
    moved = sqs.cancel_message_move_task(handle)
    task = _wait_for(arn, "CANCELLED")
    assert task.status == "CANCELLED"
    assert task.moved < 30
    assert moved <= task.moved
    with pytest.raises(errors.ResourceNotFound):
        sqs.cancel_message_move_task(handle)  # only a running task can be cancelled
    # A new task may start once the first is no longer active; the list is newest first.
    sqs.start_message_move_task(arn)
    latest = sqs.list_message_move_tasks(arn)
    assert latest[0].status in ("RUNNING", "COMPLETED")
    assert latest[1].status == "CANCELLED"


def test_it_refuses_a_queue_that_is_no_dlq_and_a_rate_above_500(aws):
    arn, _source_url, _ = _world(1)
    plain = provisioning.ensure_queue("plain")
    with pytest.raises(errors.AwsError) as refused:
        sqs.start_message_move_task(plain.arn)
    assert "Dead Letter Queue" in str(refused.value)
    with pytest.raises(errors.InvalidRequest):
        sqs.start_message_move_task(arn, max_per_second=501)
    with pytest.raises(errors.ResourceNotFound):
        sqs.start_message_move_task(arn.replace("work-dlq", "no-such-queue"))
