"""State machines the console was not written for, registered through the registry only:
a compensation that itself failed, an alert branch before a Fail state, a kind without
business state in DynamoDB, an item layout of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsconsole.aws.stepfunctions import HistoryEvent
from sagas.models import Saga, SagaDetail, SagaStatus, SyncState
from sagas.status import StatusInputs, derive_status
from sagas.timeline import TimelineRules, build_timeline, event_to_json, position

from .factories import make_saga

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
RULES = TimelineRules(
    compensation_steps=frozenset({"RefundPayment", "ReleaseStock"}),
    notification_steps=frozenset({"AlertOnCall"}),
)


def ev(i: int, prev: int, type_: str, seconds: float, **details) -> HistoryEvent:
    return HistoryEvent(i, prev, type_, T0 + timedelta(seconds=seconds), details)


def task(i: int, name: str, at: float, *, fail: str = "", resource: str = "updateItem"):
    """Events of one Task state: entered, scheduled, succeeded or failed, exited."""
    out = [
        ev(i, i - 1, "TaskStateEntered", at, name=name, input="{}"),
        ev(i + 1, i, "TaskScheduled", at, resource=resource, resourceType="dynamodb"),
    ]
    if fail:
        out.append(ev(i + 2, i + 1, "TaskFailed", at + 1, error=fail, cause=f"{fail} cause"))
    else:
        out.append(ev(i + 2, i + 1, "TaskSucceeded", at + 1, output="{}"))
    out.append(ev(i + 3, i + 2, "TaskStateExited", at + 1, name=name, output="{}"))
    return out


def compensation_failed_history() -> list[HistoryEvent]:
    """Reserve stock, charge (declined, caught), release stock (undone), refund (fails,
    caught into a Fail state): the refund never happened."""
    events = [ev(1, 0, "ExecutionStarted", 0, input='{"orderId": "A-1"}')]
    events += task(2, "ReserveStock", 1)
    events += task(6, "ChargeCard", 2, fail="CardDeclined")
    events += task(10, "ReleaseStock", 4)
    events += task(14, "RefundPayment", 6, fail="Refund.ProviderDown")
    events += [
        ev(18, 17, "FailStateEntered", 8, name="UnwindFailed", input="{}"),
        ev(19, 18, "ExecutionFailed", 8, error="UnwindFailed", cause="refund failed"),
    ]
    return events


def notification_only_history() -> list[HistoryEvent]:
    """Charge fails, an SNS alert goes out, then a Fail state: nothing was undone."""
    events = [ev(1, 0, "ExecutionStarted", 0, input="{}")]
    events += task(2, "ChargeCard", 1, fail="CardDeclined")
    events += task(6, "AlertOnCall", 3, resource="publish")
    events += [
        ev(10, 9, "FailStateEntered", 4, name="Failed", input="{}"),
        ev(11, 10, "ExecutionFailed", 4, error="CardDeclined", cause="declined"),
    ]
    return events


def test_it_says_which_compensation_failed_and_never_calls_it_compensated():
    tl = build_timeline(compensation_failed_history(), RULES)
    assert tl.failed_compensation is not None
    assert tl.failed_compensation.name == "RefundPayment"
    summary = tl.summary()
    assert "compensation failed in RefundPayment (Refund.ProviderDown)" in summary
    assert "undone before it: ReleaseStock" in summary
    assert "compensated:" not in summary
    assert position(tl).failed_compensation_step == "RefundPayment"


def test_it_gives_a_failed_compensation_its_own_status_whatever_the_item_says():
    for business in ("", "NEEDS_REVIEW", "CANCELLED_COMPENSATED"):
        inputs = StatusInputs("FAILED", business, compensation_ran=True, compensation_failed=True)
        assert derive_status(inputs) == SagaStatus.COMPENSATION_FAILED


def test_it_does_not_call_an_alert_before_a_fail_state_compensated():
    tl = build_timeline(notification_only_history(), RULES)
    assert not tl.compensation_ran
    assert [v.name for v in tl.notification_visits] == ["AlertOnCall"]
    assert tl.summary() == "Failed; failed in ChargeCard (CardDeclined); notified: AlertOnCall"
    pos = position(tl)
    status = derive_status(
        StatusInputs("FAILED", "", compensation_ran=pos.compensation_ran, error="CardDeclined")
    )
    assert status == SagaStatus.FAILED


@pytest.mark.django_db
def test_it_flags_a_failed_compensation_on_the_case_page_list_and_overview(viewer_client):
    SyncState.objects.create(kind="orders", last_success_at=datetime.now(UTC))
    events = compensation_failed_history()
    saga = make_saga(
        "orders",
        "A-1",
        SagaStatus.COMPENSATION_FAILED,
        sfn_status="FAILED",
        compensation_ran=True,
        compensation_failed_step="RefundPayment",
        current_step="ChargeCard",
    )
    SagaDetail.objects.create(
        saga=saga,
        history=[event_to_json(e) for e in events],
        history_event_count=len(events),
        history_complete=True,
        items_fetched_at=datetime.now(UTC),
    )
    html = viewer_client.get(f"/sagas/orders/{saga.business_key}/").content.decode()
    assert 'data-failed-compensation="RefundPayment"' in html
    assert "Compensation failed in RefundPayment" in html
    listed = viewer_client.get("/sagas/orders/").content.decode()
    assert 'class="badge status-compensation_failed">Compensation failed' in listed
    assert 'data-tab="compensation_failed"' in listed
    overview = viewer_client.get("/").content.decode()
    assert "data-compensation-failed-alarm" in overview
    assert "1 orders with a failed compensation" in overview
    assert Saga.objects.get(pk=saga.pk).status == SagaStatus.COMPENSATION_FAILED
