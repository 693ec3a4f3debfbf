"""What approvers read and press: both approvers of four eyes, their inbox as landing page
with the count of waiting requests, their own sagas marked, confirmations, sorting."""

from __future__ import annotations

import re

import pytest

from approvals.models import ApprovalRequest, ApprovalStatus
from sagas.models import Saga, SagaStatus
from tests.approvals.factories import make_request
from tests.conftest import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _closure_saga() -> Saga:
    from django.utils import timezone

    return Saga.objects.create(
        kind="closures",
        execution_arn="arn:aws:states:eu-west-1:123456789012:execution:AccountClosure:c-77",
        execution_name="c-77",
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:AccountClosure",
        business_key="77",
        status=SagaStatus.WAITING,
        sfn_status="RUNNING",
        current_step="AwaitClosureApproval",
        started_at=timezone.now(),
    )


def test_it_shows_both_approvers_with_their_times_after_a_four_eyes_closure(gateway, viewer_client):
    saga = _closure_saga()
    req = make_request(
        kind="closures", business_key="77", saga=saga, execution_arn=saga.execution_arn
    )
    anna = signed_in_client(make_user("approver", "anna", "anna@example.com"))
    ben = signed_in_client(make_user("approver", "ben", "ben@example.com"))
    anna.post(f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"})
    ben.post(f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"})
    req.refresh_from_db()
    assert req.status in (ApprovalStatus.APPROVED, ApprovalStatus.SENDING)

    page = viewer_client.get(f"/approvals/{req.pk}/").content.decode()
    progress = re.search(r"data-four-eyes>(.*?)</p>", page, re.S).group(1)
    assert "anna@example.com" in progress and "ben@example.com" in progress
    assert "1 of 2" not in page
    assert page.count("<time") >= 2
    panel = viewer_client.get(f"/approvals/saga/{saga.pk}/panel/", HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    assert "Approved by <strong>anna@example.com</strong>" in html
    assert "Approved by <strong>ben@example.com</strong>" in html


def test_it_says_four_eyes_once_on_the_request_page(approver_client):
    req = make_request(kind="closures", business_key="78")
    page = approver_client.get(f"/approvals/{req.pk}/").content.decode()
    assert page.lower().count("four eyes") == 1
    assert "(1 of 2)" not in page


def test_it_refreshes_the_saga_beside_the_decision_after_an_htmx_decision(approver_client, gateway):
    saga = _closure_saga()
    req = make_request(
        kind="orders", business_key="77", saga=saga, execution_arn=saga.execution_arn
    )
    response = approver_client.post(
        f"/approvals/{req.pk}/decide/",
        {"decision": "reject", "reason": "no"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'id="saga-summary"' in html and 'hx-swap-oob="outerHTML"' in html


def test_it_lands_an_approver_on_the_inbox_with_the_count_in_the_nav(approver_client):
    make_request(business_key="1")
    make_request(business_key="2")
    landing = approver_client.get("/")
    assert landing.status_code == 302 and landing["Location"] == "/approvals/"
    inbox = approver_client.get("/approvals/").content.decode()
    assert "Approvals (2)" in inbox
    overview = approver_client.get("/?overview=1").content.decode()
    assert 'data-counter="approvals-waiting"' in overview and "<strong>2</strong>" in overview


def test_it_keeps_a_viewer_on_the_overview_with_the_approvals_count(viewer_client):
    make_request()
    response = viewer_client.get("/")
    assert response.status_code == 200
    assert 'data-counter="approvals-waiting"' in response.content.decode()


def test_it_marks_the_approvers_own_sagas_and_offers_no_claim_there(clients_by_role):
    mine = make_request(business_key="8844", requested_by="approver@example.com")
    other = make_request(business_key="8842")
    client = clients_by_role["approver"]
    inbox = client.get("/approvals/").content.decode()
    row = inbox[inbox.index(f'data-approval="{mine.pk}"') :]
    assert "data-own-saga" in row[: row.index("</tr>")]
    row = inbox[inbox.index(f'data-approval="{other.pk}"') :]
    assert "data-own-saga" not in row[: row.index("</tr>")]
    page = client.get(f"/approvals/{mine.pk}/").content.decode()
    assert "data-self-approval" in page
    assert "/claim/" not in page
    assert 'value="reject"' in page


def test_it_sorts_the_inbox_by_amount(approver_client):
    make_request(business_key="small", amount="1100.00")
    make_request(business_key="big", amount="9000.00")
    make_request(business_key="middle", amount="2500.00")
    inbox = approver_client.get("/approvals/", {"sort": "amount"})
    keys = [row["req"].business_key for row in inbox.context["rows"]]
    assert keys == ["big", "middle", "small"]


def test_it_asks_for_confirmation_without_javascript_before_approving(approver_client, gateway):
    req = make_request()
    first = approver_client.post(f"/approvals/{req.pk}/decide/", {"decision": "approve"})
    assert first.status_code == 200
    html = first.content.decode()
    assert "data-confirm-page" in html and "Yes, approve" in html
    assert "The saga resumes at once" in html
    req.refresh_from_db()
    assert req.status == ApprovalStatus.PENDING and gateway.success == []
    approver_client.post(f"/approvals/{req.pk}/decide/", {"decision": "approve", "confirmed": "1"})
    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED


def test_it_puts_the_impact_into_the_approve_buttons_confirm_dialog(approver_client):
    req = make_request()
    page = approver_client.get(f"/approvals/{req.pk}/").content.decode()
    assert f'hx-confirm="Approve {req.summary}? The saga resumes at once' in page
    inbox = approver_client.get("/approvals/").content.decode()
    assert 'data-confirm="Approve every selected request?' in inbox


def test_it_confirms_a_bulk_approval_and_keeps_the_selection_after_an_error(
    approver_client, gateway
):
    a = make_request(business_key="1")
    b = make_request(business_key="2", kind="closures")  # mixed kinds: refused
    asked = approver_client.post("/approvals/bulk/", {"ids": [a.pk], "decision": "approve"})
    assert "data-confirm-page" in asked.content.decode()
    assert ApprovalRequest.objects.get(pk=a.pk).status == ApprovalStatus.PENDING
    refused = approver_client.post(
        "/approvals/bulk/", {"ids": [a.pk, b.pk], "decision": "approve", "confirmed": "1"}
    )
    assert refused.status_code == 303
    back = approver_client.get(refused["Location"]).content.decode()
    for req in (a, b):
        assert re.search(rf'name="ids" value="{req.pk}"[^>]* checked', back), req.pk
