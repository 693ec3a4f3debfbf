"""Approval-aware recovery: a redriven saga that reaches its approval step again gets a new
approval request, and the old one is closed as superseded (its task token is dead)."""

from __future__ import annotations

import pytest

from approvals.actions import collect_approval_requests
from approvals.models import ApprovalRequest
from opsconsole.audit.log import Actor
from opsconsole.aws import sqs, stepfunctions
from opsconsole.recovery.executions import actions
from sagas.models import Saga
from tests.approvals.conftest import ApprovalWorld
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db

OPERATOR = Actor(type="user", id="operator", role="operator")


def _asked(world: ApprovalWorld) -> bool:
    return sqs.queue_stats(world.world.queue_urls["order-approvals"]).visible > 0


def test_a_redriven_saga_asks_again_and_the_old_request_is_superseded(aws):
    from opsconsole.emulator import world as demo_world

    w = ApprovalWorld(world=demo_world.build())
    arn = w.start_order("77001", 1500)
    wait_until(lambda: _asked(w), timeout=30, what="the approval to be asked")
    assert collect_approval_requests().created == 1
    first = ApprovalRequest.objects.get()
    found = stepfunctions.describe_execution(arn)
    saga = Saga.objects.create(
        kind="orders",
        execution_arn=arn,
        execution_name=found.name,
        state_machine_arn=found.state_machine_arn,
        business_key="77001",
        status="waiting",
        sfn_status="RUNNING",
        current_step="AwaitApproval",
        started_at=found.started_at,
    )

    actions.act(saga.pk, actions.Request("stop", OPERATOR, reason="wrong amount; re-asking"))
    wait_until(
        lambda: stepfunctions.describe_execution(arn).status == "ABORTED",
        timeout=20,
        what="the stop",
    )
    actions.verify()  # the stop is done once its saga ended
    saga.refresh_from_db()
    assert saga.sfn_status == "ABORTED"
    actions.act(saga.pk, actions.Request("redrive", OPERATOR, reason="ask again"))
    wait_until(lambda: _asked(w), timeout=30, what="the approval to be asked again")

    assert collect_approval_requests().created == 1
    first.refresh_from_db()
    second = ApprovalRequest.objects.exclude(pk=first.pk).get()
    assert second.execution_arn == arn and second.is_open
    assert first.status == "closed"
    assert f"Superseded by request #{second.pk}" in first.status_reason
    assert stepfunctions.describe_execution(arn).redrive_count == 1
