"""The case page's data: history fetched once and cached when final, followed live while
running; business status transitions read from the steps' writes."""

from __future__ import annotations

import json

import pytest

from opsconsole.aws import sqs, stepfunctions
from sagas import actions
from sagas.models import Saga, SagaDetail, SagaStatus
from sagas.timeline import build_timeline, events_from_json
from tests.helpers import wait_until

from .factories import HISTORIES

pytestmark = pytest.mark.django_db


def test_it_reads_a_finished_history_once_and_never_again(
    finished_world_readonly, aws_calls, viewer_client
):
    actions.sync_all_kinds()
    saga = Saga.objects.filter(status=SagaStatus.COMPENSATED).first()
    assert saga is not None, "the finished world has a declined (compensated) order"
    aws_calls.clear()

    first = actions.load_case(saga)

    assert aws_calls["GetExecutionHistory"] == 1  # ceil(events / 1000)
    assert first.history_calls == 1 and not first.history_from_cache
    detail = SagaDetail.objects.get(saga=saga)
    assert detail.history_complete and detail.history_event_count == first.timeline.event_count
    aws_calls.clear()

    response = viewer_client.get(f"/sagas/orders/{saga.business_key}/")

    assert aws_calls["GetExecutionHistory"] == 0
    html = response.content.decode()
    assert "compensated: ReleaseInventory, MarkCompensated, PublishOrderFailed" in html
    assert "from the console&#x27;s copy" in html or "from the console's copy" in html
    assert "taskToken" not in json.dumps(detail.history) or "task token hidden" in json.dumps(
        detail.history
    )


def test_it_follows_a_waiting_order_until_its_approval_ends_it(seeded, viewer_client):
    actions.sync_all_kinds(kind="orders")
    saga = Saga.objects.select_related("sagadetail").get(kind="orders", business_key="8842")
    data = actions.load_case(saga)
    assert data.timeline.callback_pending
    assert not SagaDetail.objects.get(saga=saga).history_complete
    page = viewer_client.get(f"/sagas/orders/{saga.business_key}/").content.decode()
    assert "data-polling" in page and "Running; now in AwaitApproval" in page
    assert "[task token hidden]" in page or "taskToken" not in page

    token = next(
        json.loads(m.body)["taskToken"]
        for m in sqs.receive_messages(seeded.queue_urls["order-approvals"], max_messages=10)
        if json.loads(m.body).get("orderId") == "8842"
    )
    stepfunctions.send_task_success(token, {"approved": True})
    wait_until(
        lambda: stepfunctions.describe_execution(saga.execution_arn).status == "SUCCEEDED",
        timeout=20,
        what="order 8842 to be confirmed",
    )

    live = viewer_client.get(
        f"/sagas/orders/{saga.business_key}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-live"
    ).content.decode()

    assert "data-polling" not in live  # it ended: the page stops polling
    saga.refresh_from_db()
    assert saga.status == SagaStatus.SUCCEEDED and saga.business_status == "CONFIRMED"
    assert SagaDetail.objects.get(saga=saga).history_complete


def test_it_reads_the_business_status_transitions_from_the_steps_writes():
    doc = json.loads((HISTORIES / "order_declined.json").read_text())
    writes = actions.status_writes(build_timeline(events_from_json(doc["events"])))
    meta = [(w.step, w.status) for w in writes if w.item == "META" and w.applied]
    assert meta == [("ValidateOrder", "PENDING"), ("MarkCompensated", "CANCELLED_COMPENSATED")]
    charge = [w for w in writes if w.step == "ChargePayment"]
    assert charge and not charge[0].applied  # the refused charge never wrote CHARGED
