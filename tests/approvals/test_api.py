"""REST API v1 for approvals: list, detail, decision."""

from __future__ import annotations

import pytest

from approvals.models import ApprovalStatus
from opsconsole.audit.models import AuditEvent
from tests.approvals.factories import make_request

pytestmark = pytest.mark.django_db


def _decide(client, pk, body, **headers):
    return client.post(
        f"/api/v1/approvals/{pk}/decision/", body, content_type="application/json", **headers
    )


def test_it_lists_requests_filtered_by_status_and_kind(viewer_client):
    order = make_request()
    make_request(kind="closures", business_key="77")
    make_request(business_key="9", status="approved")

    body = viewer_client.get("/api/v1/approvals/?status=pending&kind=orders").json()

    assert [r["id"] for r in body["results"]] == [order.pk]
    assert body["results"][0]["summary"].startswith("order 8842")
    assert "token_encrypted" not in body["results"][0] and "dedup_key" not in body["results"][0]


def test_it_explains_an_unknown_filter(viewer_client):
    response = viewer_client.get("/api/v1/approvals/?status=done")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "Unknown status 'done'" in response.json()["errors"]["status"][0]
    assert viewer_client.get("/api/v1/approvals/?kind=nope").status_code == 400


def test_it_filters_by_business_key_saga_and_kind(viewer_client):
    from tests.sagas.factories import make_saga

    saga = make_saga("orders", "8842")
    linked = make_request(saga=saga, execution_arn=saga.execution_arn)
    by_arn_only = make_request(execution_arn=saga.execution_arn)  # collected before the sync
    other = make_request(business_key="9")
    closure = make_request(kind="closures", business_key="9")

    def ids(query):
        response = viewer_client.get(f"/api/v1/approvals/?{query}")
        assert response.status_code == 200, response.json()
        return sorted(r["id"] for r in response.json()["results"])

    assert ids("business_key=9") == sorted([other.pk, closure.pk])
    assert ids("business_key=9&kind=closures") == [closure.pk]
    assert ids(f"saga={saga.pk}") == [linked.pk]
    assert ids(f"saga={saga.execution_arn}") == sorted([linked.pk, by_arn_only.pk])
    assert ids("saga=999999") == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("bussiness_key=9", "bussiness_key"),
        ("state=pending", "state"),
        ("saga=order-8842", "saga"),
        ("kind=parcels", "kind"),
    ],
)
def test_it_refuses_unknown_parameters_and_values_instead_of_ignoring_them(
    viewer_client, query, field
):
    make_request()
    response = viewer_client.get(f"/api/v1/approvals/?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_input" and list(body["errors"]) == [field]


def test_it_lists_a_sagas_approval_requests_in_its_detail(viewer_client):
    from django.utils import timezone

    from approvals.models import ApprovalDecision
    from tests.sagas.factories import saga_from_history

    saga = saga_from_history("order_declined", business_status="CANCELLED_COMPENSATED")
    now = timezone.now()
    four_eyes = make_request(
        saga=saga,
        execution_arn=saga.execution_arn,
        status="approved",
        decision="approve",
        first_approved_by="anna@example.com",
        first_approved_at=now,
        decided_by="bob@example.com",
        decided_at=now,
    )
    for who in ("anna@example.com", "bob@example.com"):
        ApprovalDecision.objects.create(request=four_eyes, decided_by=who, decision="approve")
    make_request(business_key="other")  # another saga's

    body = viewer_client.get(f"/api/v1/sagas/{saga.pk}/").json()

    [listed] = body["approval_requests"]
    assert listed["id"] == four_eyes.pk and listed["status"] == "approved"
    assert listed["approvers"] == ["anna@example.com", "bob@example.com"]
    assert listed["decided_by"] == "bob@example.com" and listed["decided_at"].endswith("Z")
    assert listed["links"]["self"] == f"http://testserver/api/v1/approvals/{four_eyes.pk}/"
    assert listed["links"]["page"] == f"http://testserver/approvals/{four_eyes.pk}/"
    assert "token_encrypted" not in listed and "dedup_key" not in listed


def test_it_shows_one_request_with_its_decisions(viewer_client):
    req = make_request()
    body = viewer_client.get(f"/api/v1/approvals/{req.pk}/").json()
    assert body["status"] == "pending" and body["decisions"] == []
    assert viewer_client.get("/api/v1/approvals/999999/").status_code == 404


def test_it_approves_once_and_answers_409_with_who_decided(clients_by_role, gateway):
    req = make_request()

    first = _decide(clients_by_role["approver"], req.pk, {"decision": "approve", "ticket": "CHG-9"})
    second = _decide(clients_by_role["admin"], req.pk, {"decision": "approve"})

    assert first.status_code == 200
    assert first.json()["outcome"] == "approved"
    assert first.json()["approval"]["decisions"][0]["ticket"] == "CHG-9"
    assert second.status_code == 409
    assert second["Content-Type"] == "application/problem+json"
    assert second.json()["code"] == "approval.already_decided"
    assert second.json()["approval_status"] == "approved"
    assert second.json()["decided_at"].endswith("Z")
    assert second.json()["decided_by"] == "approver@example.com"
    assert second.json()["detail"].startswith("Already approved by approver@example.com at")
    assert len(gateway.success) == 1


def test_it_honours_the_idempotency_key(approver_client, gateway):
    req = make_request()
    first = _decide(approver_client, req.pk, {"decision": "approve"}, HTTP_IDEMPOTENCY_KEY="abc")
    again = _decide(approver_client, req.pk, {"decision": "approve"}, HTTP_IDEMPOTENCY_KEY="abc")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert len(gateway.success) == 1


def test_it_lets_a_service_token_decide_but_not_on_what_it_started(db, gateway):
    from rest_framework.test import APIClient

    from opsconsole.identity.models import ApiToken

    _, raw = ApiToken.issue(name="ticketing", role="approver", created_by="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    own = make_request(requested_by="ticketing")
    other = make_request(business_key="2")

    refused = client.post(f"/api/v1/approvals/{own.pk}/decision/", {"decision": "approve"})
    approved = client.post(f"/api/v1/approvals/{other.pk}/decision/", {"decision": "approve"})

    assert refused.status_code == 403 and refused.json()["code"] == "approval.self_approval"
    assert approved.status_code == 200
    assert approved.json()["approval"]["decided_by"] == "ticketing"


def test_it_refuses_the_initiator_signed_in_with_403(db, gateway):
    from tests.conftest import make_user, signed_in_client

    anna = make_user("approver", username="anna", email="anna.approver@example.com")
    req = make_request(requested_by="anna.approver@example.com")
    response = _decide(signed_in_client(anna), req.pk, {"decision": "approve"})
    assert response.status_code == 403
    assert response.json()["code"] == "approval.self_approval"
    assert gateway.success == []


def test_it_requires_a_reason_to_reject(approver_client, gateway):
    req = make_request()
    response = _decide(approver_client, req.pk, {"decision": "reject"})
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert AuditEvent.objects.filter(result="refused", target_id=str(req.pk)).exists()


def test_it_refuses_a_viewer_and_audits_it(viewer_client, gateway):
    req = make_request()
    response = _decide(viewer_client, req.pk, {"decision": "approve"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(actor="viewer@example.com", result="refused").exists()


def test_it_accepts_a_decision_it_cannot_send_yet_with_202(approver_client, gateway):
    from opsconsole.aws.errors import Throttled

    gateway.raise_on_success = Throttled("Rate exceeded")
    req = make_request()
    response = _decide(approver_client, req.pk, {"decision": "approve"})
    assert response.status_code == 202
    assert response.json()["approval"]["pending_send"] is True
    assert response.json()["approval"]["status"] == ApprovalStatus.SENDING


def test_it_lists_requests_with_a_constant_number_of_queries(clients_by_role, gateway):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    viewer = clients_by_role["viewer"]

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = viewer.get("/api/v1/approvals/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    make_request(business_key="0")
    few = count()
    for i in range(1, 30):
        req = make_request(business_key=str(i))
        if i % 3 == 0:  # some with decisions (the list nests them)
            _decide(clients_by_role["approver"], req.pk, {"decision": "approve"})
    assert count() == few


def test_it_answers_a_decision_that_came_too_late_with_a_409_problem(approver_client, gateway):
    from opsconsole.aws.errors import TaskTokenExpired

    gateway.raise_on_success = TaskTokenExpired("Task Timed Out", code="TaskTimedOut")
    req = make_request()
    response = _decide(approver_client, req.pk, {"decision": "approve"})
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "approval.expired" and body["outcome"] == "expired"
    assert body["approval"]["id"] == req.pk and body["approval"]["status"] == "expired"
