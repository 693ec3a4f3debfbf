"""The recovery page lists the registry's DLQs with their last polled depth."""

from __future__ import annotations

import pytest

from opsconsole.aws import sqs
from opsconsole.recovery.actions import poll_dlq_depths

pytestmark = pytest.mark.django_db


def test_it_shows_depths_and_their_age_on_the_recovery_page(aws, viewer_client):
    from opsconsole.emulator import world

    world.build()
    sqs.send_message("closure-emails-dlq", "{}")
    poll_dlq_depths()
    page = viewer_client.get("/recovery/").content.decode()
    assert 'data-dlq="closure-emails-dlq"' in page
    assert "sev-critical" in page  # a non-empty DLQ is flagged
    assert "orders-archive" in page
