"""The emulator process's speed-ups keep moto's behaviour: a real order still runs end to end
and SQS still answers sends, receives and depth the same way."""

from __future__ import annotations

import json

from opsconsole.aws import clients, provisioning, sqs, stepfunctions
from opsconsole.emulator import seed, server, world
from tests.helpers import wait_until


def test_it_keeps_outcomes_and_queue_semantics_in_the_fast_emulator():
    with server.running(0) as emulator, clients.endpoint_override(emulator.url):
        built = world.build()
        arns = {
            outcome: stepfunctions.start_execution(
                built.order_state_machine_arn,
                f"order-{7100 + i}-1",
                seed._order(str(7100 + i), outcome, 7100 + i).payload,
            )
            for i, outcome in enumerate(("succeeded", "declined", "waiting"))
        }

        def finished():
            found = {k: stepfunctions.describe_execution(a) for k, a in arns.items()}
            done = found["succeeded"].status != "RUNNING" and found["declined"].status != "RUNNING"
            return done and found

        found = wait_until(finished, timeout=60, what="the orders to finish")
        assert found["succeeded"].status == "SUCCEEDED"
        assert found["declined"].status == "FAILED"
        assert found["waiting"].status == "RUNNING"

        approvals = sqs.receive_messages(built.queue_urls["order-approvals"], max_messages=10)
        assert [json.loads(m.body)["orderId"] for m in approvals] == ["7102"]
        url = built.queue_urls["payments-dlq"]
        provisioning.send_messages(url, [provisioning.OutgoingMessage("x")] * 12)
        assert sqs.queue_stats(url).visible == 12
        received = sqs.receive_messages(url, max_messages=10, visibility_timeout=30)
        assert len(received) == 10
        stats = sqs.queue_stats(url)
        assert (stats.visible, stats.in_flight) == (2, 10)


def test_receipt_handles_keep_moto_answers_with_the_index():
    # The emulator finds a message by its receipt handle (moto_main.indexed_receipt_handles);
    # deleting or re-timing by a handle answers as moto (and SQS) do.
    with server.running(0) as emulator, clients.endpoint_override(emulator.url):
        url = provisioning.ensure_queue("receipts").url
        other = provisioning.ensure_queue("receipts-other").url
        provisioning.send_messages(url, [provisioning.OutgoingMessage(str(i)) for i in range(3)])
        first = sqs.receive_messages(url, max_messages=1, visibility_timeout=0)[0]
        again = sqs.receive_messages(url, max_messages=3, visibility_timeout=30)
        assert first.message_id in {m.message_id for m in again}
        # a handle of another queue is refused; a stale handle of the message still deletes
        outcome = sqs.delete_message_batch(other, {"a": again[0].receipt_handle})
        assert "a" in outcome.failed
        assert sqs.delete_message_batch(url, {"b": first.receipt_handle}).succeeded
        assert sqs.delete_message_batch(url, {"c": first.receipt_handle}).succeeded  # again
        rest = [m for m in again if m.message_id != first.message_id]
        sqs.release_messages(url, [m.receipt_handle for m in rest])
        assert sqs.queue_stats(url).visible == 2
        assert sqs.release_messages(url, ["not-a-handle"]) == ["not-a-handle"]
        assert sqs.queue_stats(url).visible == 2
