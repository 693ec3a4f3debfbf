"""The sagas REST API, as the ticketing system calls it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.identity.actions import issue_api_token
from sagas.models import SagaStatus

from .factories import make_saga, saga_from_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticketing(db) -> Client:
    _, raw = issue_api_token(Actor.system("test"), "ticketing", "viewer")
    return Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_it_lists_sagas_with_filters_and_a_cursor(ticketing):
    now = timezone.now()
    for i in range(60):
        make_saga(
            "orders",
            str(100 + i),
            SagaStatus.WAITING if i % 2 else SagaStatus.SUCCEEDED,
            started=now - timedelta(minutes=i + 1),
            step="AwaitApproval" if i % 2 else "",
        )
    make_saga("closures", "77", SagaStatus.WAITING, step="AwaitClosureApproval")
    response = ticketing.get("/api/v1/sagas/", {"kind": "orders", "status": "waiting"})
    assert response.status_code == 200
    body = response.json()
    assert len(body["results"]) == 30 and body["next"] is None
    first = body["results"][0]
    assert first["business_key"] == "101" and first["ref"] == "orders:101"
    assert first["url"].endswith(f"/sagas/orders/{first['id']}/")
    page = ticketing.get("/api/v1/sagas/", {"kind": "orders", "page_size": 25}).json()
    assert len(page["results"]) == 25 and page["next"]
    rest = ticketing.get(page["next"]).json()
    assert len(rest["results"]) == 25
    assert not {r["id"] for r in rest["results"]} & {r["id"] for r in page["results"]}
    found = ticketing.get("/api/v1/sagas/", {"q": "corr-closures-77"}).json()
    assert [r["business_key"] for r in found["results"]] == ["77"]
    step = ticketing.get("/api/v1/sagas/", {"step": "AwaitClosureApproval"}).json()
    assert [r["kind"] for r in step["results"]] == ["closures"]


def test_it_lists_with_a_constant_number_of_queries(ticketing, django_assert_num_queries):
    make_saga("orders", "1")
    ticketing.get("/api/v1/sagas/")  # the token's first use is recorded once
    with CaptureQueriesContext(connection) as small:
        ticketing.get("/api/v1/sagas/")
    for i in range(40):
        make_saga("orders", str(500 + i))
    with django_assert_num_queries(len(small.captured_queries)):
        assert len(ticketing.get("/api/v1/sagas/").json()["results"]) == 41


def test_it_explains_bad_parameters(ticketing):
    response = ticketing.get(
        "/api/v1/sagas/", {"kind": "parcels", "status": "lost", "since": "yesterday"}
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_input" and body["status"] == 400
    assert "unknown saga kind 'parcels'" in body["errors"]["kind"][0]
    assert set(body["errors"]) == {"kind", "status", "since"}


def test_it_finds_one_saga_by_id_arn_name_or_kind_and_key(ticketing):
    saga = saga_from_history("order_declined", business_status="CANCELLED_COMPENSATED")
    for ref in (str(saga.pk), saga.execution_arn, saga.execution_name, "orders:8843"):
        response = ticketing.get(f"/api/v1/sagas/{ref}/")
        assert response.status_code == 200, ref
        body = response.json()
        assert body["id"] == saga.pk and body["status"] == "compensated"
    assert body["dynamodb"]["status"] == "CANCELLED_COMPENSATED"
    meta = next(i for i in body["dynamodb"]["items"] if i["sk"] == "META")
    assert meta["customerEmail"] != "someone@example.net"  # masked for the token's role
    missing = ticketing.get("/api/v1/sagas/orders:nope/")
    assert missing.status_code == 404 and "kind>:<business key" in missing.json()["detail"]


def test_it_returns_the_timeline_a_ticket_can_show(ticketing):
    saga = saga_from_history("order_declined")
    body = ticketing.get(f"/api/v1/sagas/orders:{saga.business_key}/timeline/").json()
    assert body["status"] == "FAILED" and body["failed_step"] == "ChargePayment"
    assert body["compensation_steps_run"][:1] == ["ReleaseInventory"]
    charge = next(s for s in body["steps"] if s["name"] == "ChargePayment")
    assert charge["outcome"] == "caught" and charge["caught_to"] == "ReleaseInventory"
    assert charge["attempts"][0]["error"] == "DynamoDB.ConditionalCheckFailedException"
    assert not body["stale"]
    assert "customer" in str(body["steps"][0]["input"])
    assert "customer0@example.net" not in str(body)  # masked


def test_it_refuses_anonymous_callers(db):
    assert Client().get("/api/v1/sagas/").status_code in (401, 403)
