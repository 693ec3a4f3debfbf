"""DLQ depths are polled into the database; a failed read keeps the last known numbers."""

from __future__ import annotations

import pytest

from opsconsole.aws import clients, sqs
from opsconsole.recovery.actions import poll_dlq_depths
from opsconsole.recovery.models import QueueDepth

pytestmark = pytest.mark.django_db


def test_it_stores_each_configured_dlq_depth(aws):
    from opsconsole.emulator import world

    world.build()
    before = {d.name: d.visible for d in QueueDepth.objects.all()}
    sqs.send_message("payments-dlq", '{"orderId": "1"}')
    sqs.send_message("payments-dlq", "not json")
    poll_dlq_depths()
    depths = {d.name: d for d in QueueDepth.objects.all()}
    assert set(depths) == {
        "payments-dlq",
        "shipments-dlq",
        "closure-emails-dlq",
        "order-events-rule-dlq",
        "notify-customer-dlq",
        "loyalty-failures",
    }
    assert depths["payments-dlq"].visible == 2
    assert depths["payments-dlq"].error == ""
    assert before == {}


def test_it_keeps_the_last_known_depth_when_aws_is_down(aws, settings):
    from opsconsole.emulator import world

    world.build()
    sqs.send_message("shipments-dlq", "{}")
    poll_dlq_depths()
    first = QueueDepth.objects.get(name="shipments-dlq")
    settings.AWS_CONNECT_TIMEOUT = 0.2
    settings.AWS_MAX_ATTEMPTS = 1
    with clients.endpoint_override("http://127.0.0.1:9"):
        poll_dlq_depths()
    after = QueueDepth.objects.get(name="shipments-dlq")
    assert after.visible == 1
    assert after.read_at == first.read_at
    assert "unreachable" in after.error
