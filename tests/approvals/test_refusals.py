"""A refused decision or claim is audited once, by the action, under one name, whether it
came through the page or the API; and it reads the same on both."""

from __future__ import annotations

import pytest

from approvals.models import ApprovalStatus
from opsconsole.audit.models import AuditEvent
from tests.approvals.factories import make_request
from tests.conftest import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _page(client, req, body):
    return client.post(f"/approvals/{req.pk}/decide/", body)


def _api(client, req, body):
    return client.post(
        f"/api/v1/approvals/{req.pk}/decision/", body, content_type="application/json"
    )


def _audit(req) -> list[tuple[str, str, str]]:
    return list(
        AuditEvent.objects.filter(target_id=str(req.pk))
        .order_by("id")
        .values_list("action", "result", "error")
    )


@pytest.mark.parametrize("door", [_page, _api])
def test_it_audits_a_viewers_refused_approval_once_under_one_name(viewer_client, gateway, door):
    req = make_request()

    response = door(viewer_client, req, {"decision": "approve", "confirmed": "1"})

    assert response.status_code == 403
    assert _audit(req) == [("approval.approve", "refused", "approval.not_an_approver")]
    assert gateway.success == []


@pytest.mark.parametrize("door", [_page, _api])
def test_it_audits_a_rejection_without_reason_once(approver_client, gateway, door):
    req = make_request()

    response = door(approver_client, req, {"decision": "reject"})

    assert response.status_code == 400
    assert _audit(req) == [("approval.reject", "refused", "approval.invalid_decision")]
    assert gateway.failure == []


@pytest.mark.parametrize("door", [_page, _api])
def test_it_audits_the_initiators_refused_approval_once(db, gateway, door):
    anna = make_user("approver", username="anna", email="anna.approver@example.com")
    req = make_request(requested_by="anna.approver@example.com")

    response = door(signed_in_client(anna), req, {"decision": "approve", "confirmed": "1"})

    assert response.status_code == 403
    assert _audit(req) == [("approval.approve", "refused", "approval.self_approval")]


def test_it_says_the_same_on_the_page_and_in_the_api_when_already_decided(clients_by_role, gateway):
    req = make_request(
        status=ApprovalStatus.APPROVED, decision="approve", decided_by="ben@example.com"
    )

    page = _page(clients_by_role["approver"], req, {"decision": "approve", "confirmed": "1"})
    api = _api(clients_by_role["admin"], req, {"decision": "approve", "confirmed": "1"})

    assert page.status_code == api.status_code == 409
    body = api.json()
    assert api["Content-Type"] == "application/problem+json"
    assert body["code"] == "approval.already_decided"
    assert body["decided_by"] == "ben@example.com"
    assert body["approval_status"] == "approved"
    assert body["detail"].startswith("Already approved by ben@example.com at")
    assert body["detail"] in page.content.decode()
    assert [(a, r) for a, r, _ in _audit(req)] == [("approval.approve", "refused")] * 2


def test_it_names_the_missing_reason_as_a_field_error_in_the_api(approver_client, gateway):
    req = make_request()
    body = _api(approver_client, req, {"decision": "reject"}).json()
    assert body["code"] == "approval.invalid_decision"
    assert body["errors"] == {
        "reason": ["A rejection needs a reason: it is sent to the saga as the cause."]
    }


def test_it_answers_an_unknown_request_with_a_problem_404(approver_client):
    response = approver_client.post(
        "/api/v1/approvals/999999/decision/",
        {"decision": "approve", "confirmed": "1"},
        "application/json",
    )
    assert response.status_code == 404
    assert response.json()["code"] == "approval.not_found"
    assert not AuditEvent.objects.exists()


def test_it_audits_a_refused_claim_once(clients_by_role, gateway):
    req = make_request()
    clients_by_role["approver"].post(f"/approvals/{req.pk}/claim/")

    refused_viewer = clients_by_role["viewer"].post(f"/approvals/{req.pk}/claim/")
    taken = clients_by_role["admin"].post(f"/approvals/{req.pk}/claim/", follow=True)

    assert refused_viewer.status_code == 403
    assert "approver@example.com is working on this request until" in taken.content.decode()
    refusals = AuditEvent.objects.filter(target_id=str(req.pk), result="refused")
    assert sorted(refusals.values_list("actor", "action", "error")) == [
        ("admin@example.com", "approval.claim", "approval.claimed"),
        ("viewer@example.com", "approval.claim", "approval.not_an_approver"),
    ]
    assert AuditEvent.objects.filter(target_id=str(req.pk)).count() == 4  # + claim started/won


def test_it_audits_a_refused_bulk_decision_once(viewer_client, gateway):
    a = make_request(business_key="1")
    b = make_request(business_key="2")

    response = viewer_client.post("/approvals/bulk/", {"ids": [a.pk, b.pk], "decision": "approve"})

    assert response.status_code == 403
    refused = AuditEvent.objects.get()
    assert (refused.action, refused.result, refused.error, refused.target_id) == (
        "approval.bulk_approve",
        "refused",
        "approval.not_an_approver",
        f"{a.pk},{b.pk}",
    )


def test_it_audits_a_page_refused_by_role_once(operator_client):
    operator_client.post("/auth/tokens/", {"name": "x", "role": "admin"})
    assert list(AuditEvent.objects.values_list("action", "result")) == [
        ("identity.tokens", "refused")
    ]


def test_it_refuses_an_over_long_reason_from_the_page_once(approver_client, gateway):
    req = make_request()

    response = _page(approver_client, req, {"decision": "reject", "reason": "x" * 5000})

    assert response.status_code == 400
    assert "Reason and comment are limited to 2000 characters." in response.content.decode()
    assert _audit(req) == [("approval.reject", "refused", "approval.invalid_decision")]
