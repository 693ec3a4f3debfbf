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
    assert "/sagas/orders/101/?run=" in first["url"]
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
    # The saga's status, in the API's one vocabulary (not Step Functions' FAILED).
    assert body["status"] == "compensated" and body["failed_step"] == "ChargePayment"
    # The terminal error and its cause, as the case page shows them (not the AWS read's).
    assert body["error"] and body["error"] == body["execution_error"]
    assert body["cause"]
    assert body["stale_reason"] == ""
    assert body["failed_compensation_step"] is None
    assert body["compensation_steps_run"][:1] == ["ReleaseInventory"]
    charge = next(s for s in body["steps"] if s["name"] == "ChargePayment")
    assert charge["outcome"] == "caught" and charge["caught_to"] == "ReleaseInventory"
    assert charge["attempts"][0]["error"] == "DynamoDB.ConditionalCheckFailedException"
    assert not body["stale"]
    assert "customer" in str(body["steps"][0]["input"])
    assert "customer0@example.net" not in str(body)  # masked


def test_it_refuses_anonymous_callers(db):
    response = Client().get("/api/v1/sagas/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def _timestamps(document, path=""):
    """Every (path, value) of a member whose name says it is a point in time."""
    if isinstance(document, dict):
        for key, value in document.items():
            here = f"{path}.{key}"
            if key.endswith(("_at", "_until", "deadline", "as_of")) and isinstance(value, str):
                yield here, value
            else:
                yield from _timestamps(value, here)
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _timestamps(value, f"{path}[{index}]")


def test_it_writes_every_timestamp_in_utc_with_z(ticketing, settings):
    settings.TIME_ZONE = "Europe/Berlin"  # what pages show must not leak into the API
    saga = saga_from_history("order_declined", business_status="CANCELLED_COMPENSATED")
    documents = [
        ticketing.get("/api/v1/sagas/").json(),
        ticketing.get(f"/api/v1/sagas/{saga.pk}/").json(),
        ticketing.get(f"/api/v1/sagas/{saga.pk}/timeline/").json(),
    ]
    found = [stamp for document in documents for stamp in _timestamps(document)]
    assert len(found) > 10
    assert [(p, v) for p, v in found if not v.endswith("Z")] == []
    assert {p.split(".")[1].split("[")[0] for p, _ in found} >= {"started_at", "dynamodb", "steps"}


def test_it_links_a_saga_to_its_timeline_and_case_page(ticketing):
    saga = saga_from_history("order_declined", business_status="CANCELLED_COMPENSATED")
    body = ticketing.get(f"/api/v1/sagas/orders:{saga.business_key}/").json()
    links = body["links"]
    assert links["self"] == f"http://testserver/api/v1/sagas/{saga.pk}/"
    assert links["timeline"] == f"http://testserver/api/v1/sagas/{saga.pk}/timeline/"
    assert (
        links["case"] == body["url"] and f"/sagas/orders/{saga.business_key}/?run=" in links["case"]
    )
    assert ticketing.get(links["timeline"]).json()["saga"] == saga.pk
    assert body["approval_requests"] == []


def test_it_refuses_a_business_key_with_several_sagas_and_lists_them(ticketing):
    now = timezone.now()
    first = make_saga("orders", "8842", SagaStatus.FAILED, started=now - timedelta(hours=2))
    restart = make_saga("orders", "8842", SagaStatus.RUNNING, started=now - timedelta(hours=1))

    for path in ("/api/v1/sagas/orders:8842/", "/api/v1/sagas/orders:8842/timeline/"):
        response = ticketing.get(path)
        assert response.status_code == 409, path
        assert response["Content-Type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "saga.ambiguous_ref" and body["status"] == 409
        assert [c["id"] for c in body["candidates"]] == [restart.pk, first.pk]
        assert body["candidates"][0]["execution_arn"] == restart.execution_arn
        assert f"({restart.pk}, {first.pk})" in body["detail"]
    assert ticketing.get(f"/api/v1/sagas/{first.pk}/").json()["status"] == "failed"


@pytest.mark.parametrize("ref", ["²", "٣", "9" * 30])
def test_a_reference_that_only_looks_like_an_id_is_not_found_not_a_server_error(
    ticketing, viewer_client, ref
):
    # "²".isdigit() is true but int() refuses it; thirty digits overflow the database.
    # (Found by schemathesis.)
    for url in (f"/api/v1/sagas/{ref}/", f"/api/v1/sagas/{ref}/timeline/"):
        assert ticketing.get(url).status_code == 404, url
    assert viewer_client.get(f"/sagas/orders/{ref}/").status_code == 404
    assert ticketing.get("/api/v1/approvals/", {"saga": ref}).status_code == 400
