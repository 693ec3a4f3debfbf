"""Sign-in page, sign-out, break-glass sign-in and the API tokens page."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

from opsconsole.audit.models import AuditEvent
from opsconsole.identity.models import ApiToken, hash_token
from tests.identity.conftest import is_signed_in, sign_in

pytestmark = pytest.mark.django_db


def test_it_lists_the_demo_users_on_the_demo_sign_in_page(client, settings, tmp_path):
    settings.OIDC_DEMO_USERS = True
    settings.OIDC_DEMO_USERS_FILE = tmp_path / "users.json"
    from opsconsole.emulator import oidc

    handle = oidc.start(0)  # writes who its users are
    handle.stop()

    page = client.get("/auth/login/").content.decode()

    assert 'data-demo-user="vera"' in page and "Vera Viewer" in page
    assert 'data-demo-user="nora"' in page and "no role" in page
    listing = json.loads(settings.OIDC_DEMO_USERS_FILE.read_text())
    assert {u["sub"]: u["role"] for u in listing}["ada"] == "admin"


def test_it_lists_no_demo_users_for_a_real_provider(client, settings, tmp_path):
    settings.OIDC_DEMO_USERS = False
    settings.OIDC_DEMO_USERS_FILE = tmp_path / "users.json"
    settings.OIDC_DEMO_USERS_FILE.write_text('[{"sub": "vera"}]')
    assert "demo-users" not in client.get("/auth/login/").content.decode()


def test_it_signs_out_with_a_post_only(admin_client_):
    assert admin_client_.get("/auth/logout/").status_code == 405
    response = admin_client_.post("/auth/logout/")
    assert response.status_code == 302 and response["Location"] == "/auth/login/"
    assert not is_signed_in(admin_client_)
    assert AuditEvent.objects.filter(action="auth.sign_out", actor="admin@example.com").exists()


def test_it_needs_the_csrf_token_to_sign_out(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["admin"])
    assert client.post("/auth/logout/").status_code == 403
    assert is_signed_in(client)


def test_it_ends_the_provider_session_too_when_the_provider_has_an_end_session_endpoint(
    client, oidc_provider, settings
):
    settings.OIDC_OP_LOGOUT_ENDPOINT = oidc_provider.end_session_endpoint
    sign_in(client, "ada")
    id_token = client.session["oidc_id_token"]

    response = client.post("/auth/logout/")

    target = urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == oidc_provider.end_session_endpoint
    params = parse_qs(target.query)
    assert params["id_token_hint"] == [id_token]
    assert params["post_logout_redirect_uri"] == ["http://testserver/auth/login/"]
    assert not is_signed_in(client)
    # The library's own /oidc/logout/ behaves the same.
    sign_in(client, "ada")
    assert client.post("/oidc/logout/")["Location"].startswith(oidc_provider.end_session_endpoint)
    assert AuditEvent.objects.filter(action="auth.sign_out").count() == 2


# --- break-glass -----------------------------------------------------------------------


def _break_glass_account(role: str = "admin") -> str:
    from io import StringIO

    out = StringIO()
    call_command("create_break_glass_user", "glass", "--role", role, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_it_hides_break_glass_unless_enabled(client, settings):
    settings.BREAK_GLASS_LOGIN = False
    assert client.get("/auth/break-glass/").status_code == 404
    assert "break-glass" not in client.get("/auth/login/").content.decode()


def test_it_audits_every_break_glass_sign_in(client, settings):
    settings.BREAK_GLASS_LOGIN = True
    password = _break_glass_account()
    assert "break-glass" in client.get("/auth/login/").content.decode()

    wrong = client.post(
        "/auth/break-glass/", {"username": "glass", "password": "nope", "reason": "IdP down"}
    )
    assert wrong.status_code == 403 and not is_signed_in(client)

    right = client.post(
        "/auth/break-glass/", {"username": "glass", "password": password, "reason": "IdP down"}
    )
    assert right.status_code == 302 and is_signed_in(client)
    assert client.get("/audit/").status_code == 200

    uses = AuditEvent.objects.filter(action="auth.break_glass").order_by("id")
    assert [(e.result, e.reason) for e in uses] == [
        ("refused", "IdP down"),
        ("succeeded", "IdP down"),
    ]


def test_it_locks_break_glass_after_repeated_failures(client, settings):
    settings.BREAK_GLASS_LOGIN = True
    password = _break_glass_account()
    for _ in range(5):
        client.post("/auth/break-glass/", {"username": "glass", "password": "x", "reason": "r"})
    response = client.post(
        "/auth/break-glass/", {"username": "glass", "password": password, "reason": "r"}
    )
    assert response.status_code == 403 and "Too many failed attempts" in response.content.decode()


def test_it_ends_break_glass_sessions_when_the_flag_is_turned_off(client, settings):
    settings.BREAK_GLASS_LOGIN = True
    password = _break_glass_account()
    client.post("/auth/break-glass/", {"username": "glass", "password": password, "reason": "r"})
    settings.BREAK_GLASS_LOGIN = False
    response = client.get("/audit/")
    assert response.status_code == 302 and "reason=break_glass_off" in response["Location"]


def test_it_does_not_let_oidc_users_sign_in_with_a_password(client, settings, users):
    settings.BREAK_GLASS_LOGIN = True
    response = client.post(
        "/auth/break-glass/", {"username": "admin", "password": "", "reason": "r"}
    )
    assert response.status_code in (200, 403) and not is_signed_in(client)


# --- API tokens page -------------------------------------------------------------------


def test_it_shows_a_new_token_once_and_stores_only_its_hash(admin_client_):
    response = admin_client_.post(
        "/auth/tokens/",
        {"name": "servicenow", "role": "viewer", "expires_days": "30"},
        follow=True,
    )

    # Redirected after the POST: a reload repeats the GET, never the creation.
    assert response.redirect_chain == [("/auth/tokens/", 302)]
    assert "no-store" in response["Cache-Control"]
    raw = response.context["raw_token"]
    assert raw.startswith("opc_") and raw in response.content.decode()
    token = ApiToken.objects.get(name="servicenow")
    assert token.token_hash == hash_token(raw) and raw not in token.token_hash
    assert token.created_by == "admin@example.com" and token.expires_at is not None

    reloaded = admin_client_.get("/auth/tokens/").content.decode()
    assert "servicenow" in reloaded and raw not in reloaded
    assert ApiToken.objects.filter(name="servicenow").count() == 1
    create = AuditEvent.objects.get(action="api_token.create", result="succeeded")
    assert raw not in json.dumps(create.details)


def test_it_explains_a_bad_token_request(admin_client_):
    response = admin_client_.post("/auth/tokens/", {"name": "x", "role": "root"})
    assert response.status_code == 400
    admin_client_.post("/auth/tokens/", {"name": "dup", "role": "viewer"})
    again = admin_client_.post("/auth/tokens/", {"name": "dup", "role": "viewer"})
    assert again.status_code == 400 and "revoke it first" in again.content.decode()
    bad_rate = admin_client_.post(
        "/auth/tokens/", {"name": "r", "role": "viewer", "rate_limit": "lots"}
    )
    assert "120/minute" in bad_rate.content.decode()


def test_it_revokes_a_token_once_confirmed(admin_client_):
    admin_client_.post("/auth/tokens/", {"name": "svc", "role": "viewer"})
    token = ApiToken.objects.get(name="svc")
    listing = admin_client_.get("/auth/tokens/").content.decode()
    assert 'data-confirm="Revoke the token svc?' in listing  # the dialog, with JavaScript

    # Without JavaScript the first POST asks, with what revoking does, and changes nothing.
    asked = admin_client_.post(f"/auth/tokens/{token.pk}/revoke/")
    assert asked.status_code == 200 and "gets 401 from its next call" in asked.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None

    response = admin_client_.post(f"/auth/tokens/{token.pk}/revoke/", {"confirmed": "1"})

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None and not token.is_usable
    assert "revoked" in admin_client_.get("/auth/tokens/").content.decode()
    assert admin_client_.post("/auth/tokens/999999/revoke/").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "operator", "approver"])
def test_it_lets_only_admins_manage_tokens(clients_by_role, role):
    client = clients_by_role[role]
    assert client.get("/auth/tokens/").status_code == 403
    assert client.post("/auth/tokens/", {"name": "x", "role": "admin"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_it_audits_a_refused_attempt_to_create_or_revoke_a_token(clients_by_role):
    token, _ = ApiToken.issue("svc", "viewer")
    client = clients_by_role["operator"]

    client.get("/auth/tokens/")  # looking is not an attempt to change anything
    client.post("/auth/tokens/", {"name": "x", "role": "admin"})
    client.post(f"/auth/tokens/{token.pk}/revoke/")

    refused = AuditEvent.objects.filter(result="refused").order_by("id")
    assert [(e.action, e.actor, e.target_id) for e in refused] == [
        ("identity.tokens", "operator@example.com", ""),
        ("identity.revoke_token", "operator@example.com", str(token.pk)),
    ]
    assert "requires the admin role (has operator)" in refused[0].error
    token.refresh_from_db()
    assert token.revoked_at is None
