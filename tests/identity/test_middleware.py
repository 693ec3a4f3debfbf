"""Sessions end when idle, when too old, and when the user is deactivated, on every method."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from opsconsole.audit.models import AuditEvent
from opsconsole.identity.models import ApiToken
from tests.conftest import make_user, signed_in_client

pytestmark = pytest.mark.django_db


def _age(client: Client, *, idle: float = 0, started: float = 0) -> None:
    session = client.session
    now = timezone.now().timestamp()
    session["last_seen_at"] = now - idle
    session["signed_in_at"] = now - started
    session.save()


def test_it_signs_out_after_the_idle_timeout(admin_client_, settings):
    _age(admin_client_, idle=settings.SESSION_IDLE_TIMEOUT.total_seconds() + 1)

    response = admin_client_.get("/audit/")

    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/?next=%2Faudit%2F&reason=idle")
    assert "_auth_user_id" not in admin_client_.session
    assert "without activity" in admin_client_.get(response["Location"]).content.decode()


def test_it_keeps_an_active_session(admin_client_, settings):
    _age(admin_client_, idle=settings.SESSION_IDLE_TIMEOUT.total_seconds() - 120)
    assert admin_client_.get("/audit/").status_code == 200
    assert admin_client_.session["last_seen_at"] > timezone.now().timestamp() - 5


def test_it_ends_a_session_at_its_absolute_lifetime_even_when_active(admin_client_, settings):
    _age(admin_client_, started=settings.SESSION_MAX_AGE.total_seconds() + 1)
    response = admin_client_.get("/audit/")
    assert response.status_code == 302 and "reason=expired" in response["Location"]


def test_it_refuses_a_post_into_an_expired_session(admin_client_, settings):
    _age(admin_client_, idle=settings.SESSION_IDLE_TIMEOUT.total_seconds() + 1)

    response = admin_client_.post(
        "/auth/tokens/",
        {"name": "late", "role": "viewer"},
        HTTP_REFERER="http://testserver/auth/tokens/",
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/auth/login/?next=%2Fauth%2Ftokens%2F")
    assert not ApiToken.objects.exists(), "nothing happens on behalf of an ended session"


def test_it_sends_htmx_to_the_sign_in_page_not_into_the_swapped_element(viewer_client, settings):
    _age(viewer_client, idle=settings.SESSION_IDLE_TIMEOUT.total_seconds() + 1)

    response = viewer_client.get(
        "/approvals/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/sagas/orders/?status=failed",
    )

    assert response.status_code == 200
    assert response["HX-Redirect"] == (
        "/auth/login/?next=%2Fsagas%2Forders%2F%3Fstatus%3Dfailed&reason=idle"
    )
    assert response.content == b""


def test_it_sends_anonymous_htmx_requests_to_sign_in_with_a_full_page_load(client):
    response = client.get(
        "/audit/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/"
    )
    assert response["HX-Redirect"].startswith("/auth/login/?next=%2F")


@pytest.mark.parametrize("flag", ["user", "profile"])
def test_it_refuses_a_deactivated_user_on_the_next_request(db, flag):
    user = make_user("operator", username="olga")
    client = signed_in_client(user)
    assert client.get("/recovery/").status_code == 200

    if flag == "user":
        user.is_active = False
        user.save()
    else:
        user.staff_profile.is_active = False
        user.staff_profile.save()

    response = client.post("/auth/logout/")  # any method
    assert response.status_code == 302 and "reason=disabled" in response["Location"]
    assert "_auth_user_id" not in client.session
    ended = AuditEvent.objects.get(action="auth.session_ended")
    assert ended.actor == "olga@example.com" and ended.result == "refused"


def test_it_answers_the_api_without_a_redirect_when_the_session_expired(admin_client_, settings):
    _age(admin_client_, idle=settings.SESSION_IDLE_TIMEOUT.total_seconds() + 1)
    response = admin_client_.get("/api/v1/audit/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"


def test_it_never_redirects_to_another_site_after_sign_in(client):
    response = client.get("/auth/login/?next=https://evil.example.com/")
    assert "evil.example.com" not in response.content.decode()


def test_it_keeps_signed_in_pages_out_of_caches(admin_client_, client):
    assert "no-store" in admin_client_.get("/audit/")["Cache-Control"]
    assert "private" in admin_client_.get("/audit/")["Cache-Control"]
