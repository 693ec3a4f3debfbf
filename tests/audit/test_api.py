"""GET /api/v1/audit/: read-only, admins or admin-role tokens, filters, cursor pages."""

from __future__ import annotations

import pytest
from django.test import Client

from opsconsole.audit.log import Actor, record
from opsconsole.identity import actions

pytestmark = pytest.mark.django_db


def _token(role: str) -> Client:
    _, raw = actions.issue_api_token(Actor.system("t"), f"svc-{role}", role)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def test_it_serves_the_log_to_admins_and_admin_tokens(admin_client_):
    record(
        Actor.system(),
        "saga.redrive",
        result="succeeded",
        target_type="saga",
        target_id="o-1",
        ticket="INC-9",
    )

    for client in (admin_client_, _token("admin")):
        body = client.get("/api/v1/audit/?ticket=INC-9").json()
        assert [e["target_id"] for e in body["results"]] == ["o-1"]
        assert {"actor", "action", "result", "request_id", "correlation_id", "attempt_id"} <= set(
            body["results"][0]
        )


@pytest.mark.parametrize("role", ["viewer", "operator", "approver"])
def test_it_refuses_everyone_else(clients_by_role, role):
    assert clients_by_role[role].get("/api/v1/audit/").status_code == 403
    assert _token(role).get("/api/v1/audit/").status_code == 403
    assert Client().get("/api/v1/audit/").status_code in (401, 403)


def test_it_is_read_only(admin_client_):
    assert admin_client_.post("/api/v1/audit/", {}).status_code == 405
    assert admin_client_.delete("/api/v1/audit/").status_code == 405


def test_it_pages_with_a_cursor(admin_client_):
    for i in range(7):
        record(Actor.system(), "x.y", result="succeeded", target_id=str(i))
    first = admin_client_.get("/api/v1/audit/?page_size=5&action=x.").json()
    second = admin_client_.get(first["next"]).json()
    assert [e["target_id"] for e in first["results"] + second["results"]] == [
        str(i) for i in reversed(range(7))
    ]
    assert second["next"] is None


def test_it_explains_bad_filters(admin_client_):
    response = admin_client_.get("/api/v1/audit/?since=yesterday")
    assert response.status_code == 400 and "since" in response.json()["errors"]


def test_it_lists_the_log_with_a_constant_number_of_queries(admin_client_):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _token("admin")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/v1/audit/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    record(Actor.system(), "saga.redrive", result="succeeded", target_id="o-0")
    count()  # the token's first use writes its last-used time once
    few = count()
    for i in range(1, 60):
        record(Actor.system(), "saga.redrive", result="succeeded", target_id=f"o-{i}")
    assert count() == few
