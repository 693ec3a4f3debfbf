"""The inbox, a request's page, decisions and claims as an approver sees them."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.models import ApprovalRequest, ApprovalStatus
from opsconsole.audit.models import AuditEvent
from tests.approvals.factories import make_request
from tests.conftest import make_user, signed_in_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("aws")]


def _row_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'id="approval-row-(\d+)"', html)]


def test_it_lists_waiting_requests_soonest_deadline_first_with_time_left(viewer_client):
    later = make_request(business_key="1", deadline_in=7200)
    soon = make_request(business_key="2", deadline_in=1800)
    make_request(business_key="3", status="approved", decided_by="x@example.com")

    response = viewer_client.get("/approvals/")

    assert response.status_code == 200
    html = response.content.decode()
    assert _row_ids(html) == [soon.pk, later.pk]
    assert re.search(r'class="time-left soon">29 min left', html)
    assert re.search(r'class="time-left ">1 h 59 min left', html)


def test_it_shows_decided_and_expired_requests_in_the_history_tab(viewer_client):
    make_request(business_key="1")
    done = make_request(business_key="2", status="approved", decided_by="ben@example.com")
    gone = make_request(business_key="3", status="expired", status_reason="The step timed out.")

    html = viewer_client.get("/approvals/?tab=history").content.decode()

    assert sorted(_row_ids(html)) == sorted([done.pk, gone.pk])
    assert "ben@example.com" in html and "The step timed out." in html


def test_it_filters_by_kind_amount_age_and_my_claims(approver_client, users):
    small = make_request(business_key="1", amount="500.00")
    big = make_request(business_key="2", amount="25000.00")
    old = make_request(business_key="3", requested_at=timezone.now() - timedelta(days=2))
    closure = make_request(kind="closures", business_key="77")
    mine = make_request(
        business_key="4",
        claimed_by=users["approver"].email,
        claimed_until=timezone.now() + timedelta(minutes=5),
    )

    def ids(query: str) -> set[int]:
        return set(_row_ids(approver_client.get(f"/approvals/?{query}").content.decode()))

    assert ids("kind=closures") == {closure.pk}
    assert ids("amount=lt1k") == {small.pk}
    assert ids("amount=gt10k") == {big.pk}
    assert ids("age=24h") == {old.pk}
    assert ids("mine=on") == {mine.pk}
    assert ids("amount=bogus") >= {small.pk, big.pk}  # ignored, and said so


def test_it_paginates_the_inbox(viewer_client):
    for i in range(30):
        make_request(business_key=str(i))
    first = viewer_client.get("/approvals/").content.decode()
    second = viewer_client.get("/approvals/?page=2").content.decode()
    assert len(_row_ids(first)) == 25 and len(_row_ids(second)) == 5
    assert "Page 1 of 2" in first


def test_it_answers_a_filter_change_with_only_the_list_under_htmx(viewer_client):
    make_request()
    response = viewer_client.get(
        "/approvals/?kind=orders", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="approval-list"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="approval-list"')
    assert "<html" not in html


def test_it_approves_from_the_request_page_and_shows_the_outcome(approver_client, gateway):
    req = make_request(token="tok-page")

    response = approver_client.post(
        f"/approvals/{req.pk}/decide/",
        {
            "decision": "approve",
            "confirmed": "1",
            "comment": "fine",
            "ticket": "CHG-1",
            "idempotency_key": "k",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert "Approved: the orders saga for 8842 continues." in response.content.decode()
    assert gateway.success == [
        (
            "tok-page",
            {
                "approved": True,
                "approver": "approver@example.com",
                "comment": "fine",
                "ticket": "CHG-1",
            },
        )
    ]


def test_it_answers_a_double_click_with_the_first_result(approver_client, gateway):
    req = make_request()
    form = {"decision": "approve", "confirmed": "1", "idempotency_key": "same-render"}
    approver_client.post(f"/approvals/{req.pk}/decide/", form)
    response = approver_client.post(f"/approvals/{req.pk}/decide/", form, follow=True)

    assert "Approved" in response.content.decode()
    assert len(gateway.success) == 1


def test_it_tells_a_second_approver_who_decided_first(clients_by_role, gateway):
    req = make_request()
    clients_by_role["admin"].post(
        f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"}
    )

    response = clients_by_role["approver"].post(
        f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"}
    )

    assert response.status_code == 409
    assert "Already approved by admin@example.com at" in response.content.decode()
    assert len(gateway.success) == 1


def test_it_refuses_a_rejection_without_a_reason_and_keeps_the_input(approver_client, gateway):
    req = make_request()
    response = approver_client.post(
        f"/approvals/{req.pk}/decide/", {"decision": "reject", "comment": "keep me"}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "A rejection needs a reason" in html
    assert "keep me" in html
    assert gateway.failure == []


def test_it_refuses_the_initiator_on_the_page(db, gateway):
    anna = make_user("approver", username="anna", email="anna.approver@example.com")
    client = signed_in_client(anna)
    req = make_request(business_key="8844", requested_by="anna.approver@example.com")

    page = client.get(f"/approvals/{req.pk}/").content.decode()
    assert "you may not approve it" in page
    assert 'value="approve"' not in page

    response = client.post(
        f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"}
    )
    assert response.status_code == 403
    assert "may not approve" in response.content.decode()
    assert gateway.success == []


def test_it_refuses_a_viewer_and_audits_the_attempt(viewer_client, gateway):
    req = make_request()
    response = viewer_client.post(
        f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"}
    )
    assert response.status_code == 403
    assert AuditEvent.objects.filter(actor="viewer@example.com", result="refused").exists()
    assert gateway.success == []
    assert 'value="approve"' not in viewer_client.get(f"/approvals/{req.pk}/").content.decode()


def test_it_updates_the_decision_panel_in_place_under_htmx(approver_client, gateway):
    req = make_request(kind="closures", business_key="77", amount=None)
    response = approver_client.post(
        f"/approvals/{req.pk}/decide/",
        {"decision": "approve", "confirmed": "1"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="decision-panel"')
    assert "First approval recorded" in html
    assert "1 of 2 approvals, by <strong>approver@example.com" in html
    assert gateway.success == []


def test_it_says_a_decision_is_waiting_to_be_sent_when_aws_is_down(approver_client, gateway):
    from opsconsole.aws.errors import AwsUnavailable

    gateway.raise_on_success = AwsUnavailable("AWS endpoint unreachable")
    req = make_request()
    response = approver_client.post(
        f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"}, follow=True
    )
    assert response.status_code == 200
    assert "retried automatically" in response.content.decode()
    assert ApprovalRequest.objects.get(pk=req.pk).status == ApprovalStatus.SENDING


def test_it_claims_and_releases_a_request(clients_by_role, gateway):
    req = make_request()
    clients_by_role["approver"].post(f"/approvals/{req.pk}/claim/")

    other = clients_by_role["admin"].get(f"/approvals/{req.pk}/").content.decode()
    assert "approver@example.com is working on this" in other
    response = clients_by_role["admin"].post(f"/approvals/{req.pk}/claim/", follow=True)
    assert "approver@example.com is working on this request until" in response.content.decode()

    clients_by_role["approver"].post(f"/approvals/{req.pk}/unclaim/")
    assert ApprovalRequest.objects.get(pk=req.pk).claim_holder() == ""


def test_it_decides_a_bulk_selection_one_by_one(approver_client, gateway):
    a = make_request(business_key="1")
    b = make_request(business_key="2")
    response = approver_client.post(
        "/approvals/bulk/",
        {"ids": [a.pk, b.pk], "decision": "reject", "reason": "duplicate orders"},
        follow=True,
    )
    assert "2 of 2 decided." in response.content.decode()
    assert [c for _, _, c in gateway.failure] == ["duplicate orders", "duplicate orders"]
    assert AuditEvent.objects.filter(action="approval.reject", result="succeeded").count() == 2


def test_it_serves_the_case_page_panel_for_a_saga(viewer_client):
    from sagas.models import Saga

    saga = Saga.objects.create(
        kind="orders",
        execution_arn="arn:aws:states:eu-west-1:123456789012:execution:OrderFulfillment:p",
        execution_name="p",
        state_machine_arn="sm",
        business_key="8842",
        status="waiting",
        sfn_status="RUNNING",
        started_at=timezone.now(),
    )
    make_request(
        execution_arn=saga.execution_arn,
        status="partially_approved",
        first_approved_by="ben@example.com",
    )

    response = viewer_client.get(f"/approvals/saga/{saga.pk}/panel/", HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="approvals-panel"')
    assert "First approval by ben@example.com" in html
    assert "Vary" in response and "HX-Request" in response["Vary"]
    # Without JavaScript the case page links here: a whole page, with the way back.
    page = viewer_client.get(f"/approvals/saga/{saga.pk}/panel/").content.decode()
    assert "<html" in page and 'id="approvals-panel"' in page
    assert f'href="/sagas/orders/{saga.business_key}/?run={saga.execution_name}"' in page
    assert viewer_client.get("/approvals/saga/999999/panel/").status_code == 404


def test_it_never_shows_or_logs_the_task_token(approver_client, gateway, caplog):
    token = "SECRET-TASK-TOKEN-8842-ZZZ"
    req = make_request(token=token)
    caplog.set_level(logging.DEBUG)
    pages = [
        approver_client.get("/approvals/"),
        approver_client.get(f"/approvals/{req.pk}/"),
        approver_client.post(
            f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"}, follow=True
        ),
        approver_client.get("/approvals/?tab=history"),
        approver_client.get("/api/v1/approvals/"),
        approver_client.get(f"/api/v1/approvals/{req.pk}/"),
    ]
    stored = ApprovalRequest.objects.get(pk=req.pk).token_encrypted
    audit_text = " ".join(f"{e.error} {e.reason} {e.details}" for e in AuditEvent.objects.all())
    for secret in (token, stored, req.dedup_key):
        for response in pages:
            assert secret not in response.content.decode()
        assert secret not in caplog.text
        assert secret not in audit_text
    assert gateway.success[0][0] == token


def test_it_keeps_a_token_that_aws_echoes_in_an_error_out_of_pages_api_and_audit(
    clients_by_role, gateway, caplog
):
    from opsconsole.aws.errors import InvalidRequest

    token = "SECRET-TASK-TOKEN-ECHOED-4242"
    gateway.raise_on_success = InvalidRequest(
        f"1 validation error detected: Value '{token}' at 'taskToken' failed to satisfy constraint",
        code="ValidationException",
    )
    req = make_request(token=token)
    caplog.set_level(logging.DEBUG)
    approver = clients_by_role["approver"]
    admin = clients_by_role["admin"]
    responses = [
        approver.post(
            f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"}, follow=True
        ),
        approver.get(f"/approvals/{req.pk}/"),
        approver.get("/approvals/"),
        approver.get(f"/api/v1/approvals/{req.pk}/"),
        admin.get("/audit/"),
        admin.get("/api/v1/audit/"),
    ]
    export = admin.get("/audit/export.csv")
    stored = ApprovalRequest.objects.get(pk=req.pk)
    assert stored.status == ApprovalStatus.SENDING and "ValidationException" in stored.send_error
    assert token not in stored.send_error
    for response in responses:
        assert response.status_code == 200
        assert token not in response.content.decode()
    assert token not in b"".join(export.streaming_content).decode()
    assert token not in caplog.text
    assert not AuditEvent.objects.filter(error__contains=token).exists()


def test_it_shows_the_saga_context_on_the_request_page(approval_world, approver_client):
    from approvals import actions
    from sagas.models import Saga

    arn = approval_world.start_order("6842", 1240)
    approval_world.wait_for_messages("order-approvals")
    actions.collect_approval_requests()
    req = ApprovalRequest.objects.get()
    saga = Saga.objects.create(
        kind="orders",
        execution_arn=arn,
        execution_name=arn.rsplit(":", 1)[-1],
        state_machine_arn=approval_world.world.order_state_machine_arn,
        business_key="6842",
        status="waiting",
        sfn_status="RUNNING",
        current_step="AwaitApproval",
        started_at=timezone.now(),
    )
    actions.sweep_approval_requests()

    html = approver_client.get(f"/approvals/{req.pk}/").content.decode()

    assert "order 6842, 1,240.00 EUR, above the 1,000 threshold" in html
    assert re.search(r'<li class="current"><span>AwaitApproval</span>', html)
    assert "PENDING" in html  # the order's META item in DynamoDB
    assert f'href="/sagas/orders/{saga.business_key}/?run={saga.execution_name}"' in html


def test_it_renders_the_inbox_with_a_constant_number_of_queries(approver_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert approver_client.get("/approvals/").status_code == 200
        return len(ctx.captured_queries)

    make_request(business_key="0")
    few = count()
    for i in range(1, 25):
        make_request(
            business_key=str(i),
            claimed_by="x@example.com",
            claimed_until=timezone.now() + timedelta(minutes=5),
        )
    assert count() == few


class _LongHistory:
    """GetExecutionHistory over a history of `steps` states (plus the waiting approval
    step): pages of at most `maxResults`, newest first when asked, like AWS."""

    def __init__(self, steps: int) -> None:
        start = timezone.now() - timedelta(hours=3)
        events: list[dict] = [
            {
                "id": 1,
                "type": "ExecutionStarted",
                "timestamp": start,
                "executionStartedEventDetails": {"input": "{}", "roleArn": "arn:role"},
            }
        ]
        names = [f"Step{n:04d}" for n in range(1, steps + 1)]
        for name in names:
            for kind in ("TaskStateEntered", "TaskStateExited"):
                events.append(
                    {
                        "id": len(events) + 1,
                        "previousEventId": len(events),
                        "type": kind,
                        "timestamp": start + timedelta(seconds=len(events)),
                        "stateEnteredEventDetails"
                        if kind == "TaskStateEntered"
                        else "stateExitedEventDetails": {"name": name, "input": "{}"},
                    }
                )
        events.append(
            {
                "id": len(events) + 1,
                "previousEventId": len(events),
                "type": "TaskStateEntered",
                "timestamp": start + timedelta(seconds=len(events)),
                "stateEnteredEventDetails": {"name": "AwaitApproval", "input": "{}"},
            }
        )
        self.events = events
        self.calls = 0

    def get_execution_history(self, **kwargs):
        self.calls += 1
        ordered = self.events[::-1] if kwargs.get("reverseOrder") else self.events
        offset = int(kwargs.get("nextToken") or 0)
        size = kwargs.get("maxResults", 1000)
        page = {"events": ordered[offset : offset + size]}
        if offset + size < len(ordered):
            page["nextToken"] = str(offset + size)
        return page


def test_it_shows_the_latest_steps_of_a_history_longer_than_one_page(approver_client, monkeypatch):
    from opsconsole.aws import dynamodb, stepfunctions
    from sagas.models import Saga

    history = _LongHistory(steps=1299)  # 2,600 events: three pages
    monkeypatch.setattr(stepfunctions, "client", lambda service, env=None: history)
    monkeypatch.setattr(dynamodb, "query_partition", lambda *args, **kwargs: [])
    saga = Saga.objects.create(
        kind="orders",
        execution_arn="arn:aws:states:eu-west-1:123456789012:execution:OrderFulfillment:long",
        execution_name="long",
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFulfillment",
        business_key="8842",
        status="waiting",
        sfn_status="RUNNING",
        started_at=timezone.now(),
    )
    req = make_request(saga=saga, execution_arn=saga.execution_arn)

    html = approver_client.get(f"/approvals/{req.pk}/").content.decode()

    shown = re.findall(r"<li class=\"[a-z]*\"><span>(\w+)</span>", html)
    assert shown == [f"Step{n:04d}" for n in range(1289, 1300)] + ["AwaitApproval"]
    assert re.search(r'<li class="current"><span>AwaitApproval</span>', html)
    assert "1288 earlier steps not shown" in html
    assert history.calls == 3  # every page once, then cached

    approver_client.get(f"/approvals/{req.pk}/")
    assert history.calls == 4  # a running saga: only what is newer than the cache
