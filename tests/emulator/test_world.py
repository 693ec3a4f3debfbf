"""The demo world has what config/demo.yaml names, and building it twice is harmless."""

from __future__ import annotations

from opsconsole.aws import events, sns, sqs, stepfunctions
from opsconsole.emulator import world
from opsconsole.recovery.config import dlqs
from opsconsole.registry import get_registry


def test_it_creates_every_resource_the_registry_names(aws):
    built = world.build()
    registry = get_registry()
    for queue in [q.queue for q in registry.approval_queues] + [d.queue for d in dlqs(registry)]:
        assert sqs.queue_url(queue) is not None, queue
    assert events.describe_archive("orders-archive") is not None
    names = {sm.name for sm in stepfunctions.list_state_machines()}
    assert {kind.state_machine for kind in registry.kinds.values()} <= names
    topics = {arn.rsplit(":", 1)[1] for arn in sns.list_topics()}
    assert set(world.TOPICS) <= topics
    assert built.order_state_machine_arn.endswith(":stateMachine:OrderFulfillment")


def test_it_gives_each_work_queue_a_dead_letter_queue_after_three_receives(aws):
    world.build()
    for source, (dlq, max_receives) in world.WORK_QUEUES.items():
        stats = sqs.queue_stats(source)
        assert stats.max_receive_count == max_receives == 3
        assert stats.dead_letter_target_arn == sqs.queue_stats(dlq).arn


def test_it_builds_idempotently(aws):
    first = world.build()
    second = world.build()
    assert first == second
    # The two sagas, and the intake the OrderPlaced rule starts.
    assert len(stepfunctions.list_state_machines()) == 3
