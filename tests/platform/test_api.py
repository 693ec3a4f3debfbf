"""Every error the API gives is an RFC 9457 problem (application/problem+json) with a stable
code: 400, 401, 403, 404, 405, 409, 415 and 429 alike."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from opsconsole.audit.log import Actor
from opsconsole.identity.actions import issue_api_token

pytestmark = pytest.mark.django_db


def _token(role: str, **options) -> Client:
    _, raw = issue_api_token(Actor.system("test"), f"svc-{role}", role, **options)
    return Client(headers={"Authorization": f"Bearer {raw}"})


def _assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].startswith("https://") and body["title"] and body["detail"]
    return body


def test_it_answers_bad_input_with_400_and_field_errors():
    body = _assert_problem(
        _token("viewer").get("/api/v1/sagas/?since=yesterday"), 400, "invalid_input"
    )
    assert list(body["errors"]) == ["since"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer opc_unknown"}, {"Authorization": "Bearer"}],
    ids=["no token", "unknown token", "malformed"],
)
def test_it_answers_unauthenticated_callers_with_401(headers):
    response = Client(headers=headers).get("/api/v1/approvals/")
    _assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_answers_a_role_that_does_not_suffice_with_403():
    _assert_problem(_token("viewer").get("/api/v1/audit/"), 403, "permission_refused")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/sagas/orders:nope/",
        "/api/v1/approvals/999999/",
        "/api/v1/no-such-thing/",
        "/api/v1/sagas/?cursor=not-a-cursor",
    ],
)
def test_it_answers_what_does_not_exist_with_404(path):
    _assert_problem(_token("viewer").get(path), 404, "not_found")


def test_it_still_redirects_a_missing_trailing_slash():
    response = _token("viewer").get("/api/v1/sagas")
    assert response.status_code == 301 and response["Location"] == "/api/v1/sagas/"


def test_it_answers_a_method_an_endpoint_does_not_have_with_405():
    client = _token("admin")
    _assert_problem(client.post("/api/v1/sagas/", {}), 405, "method_not_allowed")
    _assert_problem(client.delete("/api/v1/audit/"), 405, "method_not_allowed")


def test_it_answers_a_body_it_cannot_read_with_415_as_documented():
    from opsconsole.integrations.models import WebhookEndpoint

    client = _token("admin")
    response = client.generic("POST", "/api/v1/webhooks/", b"url=x", content_type="text/plain")
    _assert_problem(response, 415, "unsupported_media_type")
    assert WebhookEndpoint.objects.count() == 0


def test_it_answers_a_token_over_its_rate_with_429_and_retry_after():
    cache.clear()
    client = _token("viewer", rate_limit="2/minute")
    assert [client.get("/api/v1/sagas/").status_code for _ in range(2)] == [200, 200]
    response = client.get("/api/v1/sagas/")
    _assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
