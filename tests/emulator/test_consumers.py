"""The downstream services consume what the sagas send, so work queues drain."""

from __future__ import annotations

from opsconsole.aws import provisioning, sqs
from opsconsole.emulator import consumers, world
from tests.helpers import wait_until


def test_it_drains_the_work_queues_but_not_the_dead_letter_queues(aws):
    built = world.build()
    for name in ("shipments", "order-events", "payments-dlq"):
        provisioning.send_messages(
            built.queue_urls[name],
            [provisioning.OutgoingMessage(f'{{"n": {i}}}') for i in range(25)],
        )
    running = consumers.Consumers(built, interval=0.05).start()
    try:
        wait_until(
            lambda: (
                sqs.queue_stats("shipments").visible == 0
                and sqs.queue_stats("order-events").visible == 0
            ),
            timeout=20,
            what="the work queues to drain",
        )
    finally:
        running.stop()
    assert running.consumed == 50
    assert sqs.queue_stats("payments-dlq").visible == 25  # evidence stays for a person
