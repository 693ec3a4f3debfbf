"""Service accounts: Bearer tokens, the same role rules as staff, and per-token rate limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.identity import actions
from opsconsole.identity.models import ApiToken

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {raw}"})


def issue(role: str = "admin", **kwargs) -> tuple[ApiToken, str]:
    return actions.issue_api_token(Actor.system("test"), f"svc-{role}", role, **kwargs)


def test_it_authenticates_a_service_account_by_bearer_token():
    token, raw = issue("admin")
    response = bearer(raw).get("/api/v1/audit/")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_it_applies_the_same_role_rules_as_for_staff():
    _, raw = issue("viewer")
    assert bearer(raw).get("/api/v1/audit/").status_code == 403


@pytest.mark.parametrize("header", ["Bearer opc_not-a-token", "Bearer", "Bearer a b"])
def test_it_refuses_an_unknown_or_malformed_token(header):
    response = Client(headers={"Authorization": header}).get("/api/v1/audit/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_it_refuses_revoked_and_expired_tokens():
    token, raw = issue("admin")
    actions.revoke_api_token(Actor.system("test"), token.pk)
    assert bearer(raw).get("/api/v1/audit/").status_code == 401

    token, raw = actions.issue_api_token(Actor.system("test"), "old", "admin", expires_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(raw).get("/api/v1/audit/").status_code == 401


def test_it_limits_each_token_to_its_rate_with_retry_after():
    _, raw = issue("admin", rate_limit="3/minute")
    _, other = actions.issue_api_token(
        Actor.system("test"), "other", "admin", rate_limit="3/minute"
    )
    client = bearer(raw)
    assert [client.get("/api/v1/audit/").status_code for _ in range(3)] == [200, 200, 200]

    limited = client.get("/api/v1/audit/")

    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 60
    assert bearer(other).get("/api/v1/audit/").status_code == 200, "limits are per token"


def test_it_does_not_accept_tokens_on_pages():
    _, raw = issue("admin")
    response = bearer(raw).get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/login/")


def test_it_never_returns_the_secret_or_its_hash_in_the_api(admin_client_):
    token, raw = issue("admin")
    body = bearer(raw).get("/api/v1/audit/").content.decode()
    assert raw not in body and token.token_hash not in body
