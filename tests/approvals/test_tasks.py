"""The Celery tasks that drain the approval queues and sweep requests."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from approvals import tasks
from approvals.models import ApprovalRequest
from tests.helpers import wait_until


@pytest.mark.django_db
def test_it_collects_and_sweeps_through_the_scheduled_tasks(approval_world):
    approval_world.start_order("5001", 1240)
    approval_world.wait_for_messages("order-approvals")

    collected = tasks.collect_approval_requests.delay().get()
    swept = tasks.sweep_approval_requests.delay().get()

    assert collected["created"] == 1
    assert swept == {"resent": 0, "linked": 0, "expired": 0, "closed": 0}
    assert ApprovalRequest.objects.get().business_key == "5001"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not django_settings.TEST_BROKER_IS_REAL, reason="needs a real broker (CELERY_BROKER_URL)"
)
def test_it_collects_through_a_real_celery_worker(aws):
    from celery.contrib.testing.worker import start_worker

    from opsconsole.celery import app
    from opsconsole.emulator import world as demo_world
    from tests.approvals.conftest import ApprovalWorld

    world = ApprovalWorld(world=demo_world.build())
    world.start_order("5002", 1240)
    world.wait_for_messages("order-approvals")
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False):
            tasks.collect_approval_requests.delay()
            wait_until(
                lambda: ApprovalRequest.objects.filter(business_key="5002").exists(),
                timeout=30,
                what="the worker to store the approval request",
            )
    finally:
        app.conf.task_always_eager = eager
