"""Sign-in through the real local OIDC provider (and a forging stand-in for bad tokens),
through the console's real redirect flow and callback."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest
from django.test import Client

from opsconsole.audit.models import AuditEvent
from opsconsole.identity.models import StaffProfile
from tests.identity.conftest import CALLBACK, begin, is_signed_in, sign_in
from tests.identity.forger import new_key, public_jwk, s256

pytestmark = pytest.mark.django_db


def _sign_in_events(result: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="auth.sign_in", result=result))


def _assert_refused(response, client: Client, status: int, says: str) -> None:
    assert response.status_code == status, response.content[:500]
    assert says in response.content.decode()
    assert not is_signed_in(client)
    # Not signed in: the next page sends the person to sign in.
    assert client.get("/").status_code == 302
    assert _sign_in_events(AuditEvent.REFUSED), "the refusal is audited"


@pytest.mark.parametrize(
    ("sub", "role"),
    [("vera", "viewer"), ("oscar", "operator"), ("anna", "approver"), ("ada", "admin")],
)
def test_it_signs_in_each_demo_user_with_the_role_of_their_groups(client, oidc_provider, sub, role):
    response = sign_in(client, sub)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert is_signed_in(client)
    profile = StaffProfile.objects.get(oidc_sub=sub)
    assert profile.role == role
    assert profile.oidc_issuer == oidc_provider.issuer
    assert profile.user.email.endswith("@example.com")
    page = client.get("/auth/login/")
    assert page.status_code == 302, "a signed-in user is sent on from the sign-in page"
    event = _sign_in_events(AuditEvent.SUCCEEDED)[0]
    assert (event.actor_sub, event.actor_role) == (sub, role)
    assert event.details["method"] == "oidc"


def test_it_returns_to_the_page_asked_for(client, oidc_provider):
    flow = begin(client, next_url="/audit/?ticket=INC-1")
    response = flow.finish(flow.approve("ada"))
    assert response["Location"] == "/audit/?ticket=INC-1"


def test_it_asks_for_the_code_with_pkce_state_and_nonce(client, forger, settings):
    flow = begin(client)
    params = flow.params
    assert params["code_challenge_method"] == "S256"
    assert len(params["state"]) >= 32 and len(params["nonce"]) >= 32
    assert params["redirect_uri"] == CALLBACK
    forger.claims = forger.good_claims(nonce=params["nonce"], client_id=settings.OIDC_RP_CLIENT_ID)

    response = client.get(f"/oidc/callback/?code=abc&state={params['state']}")

    assert response.status_code == 302 and is_signed_in(client)
    sent = forger.token_requests[0]
    assert s256(sent["code_verifier"]) == params["code_challenge"]
    assert sent["redirect_uri"] == CALLBACK


def test_it_refuses_a_tampered_state(client, oidc_provider):
    flow = begin(client)
    callback = flow.approve("ada")
    tampered = callback.replace("state=", "state=x")

    response = client.get(tampered)

    _assert_refused(response, client, 400, "This sign-in link is not valid")


def test_it_refuses_a_replayed_callback(client, oidc_provider):
    flow = begin(client)
    callback = flow.approve("ada")
    assert flow.finish(callback).status_code == 302

    replay_elsewhere = Client()
    _assert_refused(replay_elsewhere.get(callback), replay_elsewhere, 400, "not valid")

    # Replayed in the browser that signed in: refused, and that session ends too.
    _assert_refused(client.get(callback), client, 400, "not valid")


def test_it_refuses_a_token_for_another_audience(client, forger, settings):
    flow = begin(client)
    forger.claims = forger.good_claims(nonce=flow.params["nonce"], client_id="another-app")

    response = client.get(f"/oidc/callback/?code=abc&state={flow.params['state']}")

    _assert_refused(response, client, 403, "could not be verified")
    assert "audience" in _sign_in_events(AuditEvent.REFUSED)[0].error


def test_it_refuses_a_token_with_several_audiences_not_authorised_for_it(client, forger, settings):
    flow = begin(client)
    forger.claims = forger.good_claims(
        nonce=flow.params["nonce"],
        client_id=settings.OIDC_RP_CLIENT_ID,
        aud=[settings.OIDC_RP_CLIENT_ID, "another-app"],
        azp="another-app",
    )
    response = client.get(f"/oidc/callback/?code=abc&state={flow.params['state']}")
    _assert_refused(response, client, 403, "could not be verified")


def test_it_refuses_a_token_from_another_issuer(client, forger, settings):
    flow = begin(client)
    forger.claims = forger.good_claims(
        nonce=flow.params["nonce"],
        client_id=settings.OIDC_RP_CLIENT_ID,
        iss="https://evil.example.com",
    )
    response = client.get(f"/oidc/callback/?code=abc&state={flow.params['state']}")
    _assert_refused(response, client, 403, "could not be verified")
    assert "issuer" in _sign_in_events(AuditEvent.REFUSED)[0].error


def test_it_refuses_an_expired_token_from_the_real_provider(client, settings):
    from opsconsole.emulator import oidc

    handle = oidc.start(
        0, redirect_uris=[CALLBACK], token_max_age=timedelta(minutes=-10), write_demo_users=False
    )
    try:
        for name, value in handle.endpoints.items():
            setattr(settings, name, value)
        flow = begin(client)
        response = flow.finish(flow.approve("ada"))
    finally:
        handle.stop()
    _assert_refused(response, client, 403, "expired")


def test_it_refuses_an_expired_token(client, forger, settings):
    flow = begin(client)
    past = int(time.time()) - 3600
    forger.claims = forger.good_claims(
        nonce=flow.params["nonce"], client_id=settings.OIDC_RP_CLIENT_ID, iat=past, exp=past + 60
    )
    response = client.get(f"/oidc/callback/?code=abc&state={flow.params['state']}")
    _assert_refused(response, client, 403, "expired")


def test_it_refuses_a_token_for_another_sign_in(client, forger, settings):
    flow = begin(client)
    forger.claims = forger.good_claims(
        nonce="someone-elses-nonce", client_id=settings.OIDC_RP_CLIENT_ID
    )
    response = client.get(f"/oidc/callback/?code=abc&state={flow.params['state']}")
    _assert_refused(response, client, 403, "could not be verified")
    assert "nonce" in _sign_in_events(AuditEvent.REFUSED)[0].error


def test_it_refuses_a_token_signed_by_a_key_the_provider_does_not_publish(client, forger, settings):
    flow = begin(client)
    forger.claims = forger.good_claims(
        nonce=flow.params["nonce"], client_id=settings.OIDC_RP_CLIENT_ID
    )
    forger.key = new_key()  # signs with a new key under the published kid
    response = client.get(f"/oidc/callback/?code=abc&state={flow.params['state']}")
    _assert_refused(response, client, 403, "could not be verified")


def test_it_refuses_unsigned_and_symmetric_tokens(client, forger, settings):
    flow = begin(client)
    claims = forger.good_claims(nonce=flow.params["nonce"], client_id=settings.OIDC_RP_CLIENT_ID)
    forger.token_override = jwt.encode(claims, settings.OIDC_RP_CLIENT_SECRET, algorithm="HS256")
    response = client.get(f"/oidc/callback/?code=abc&state={flow.params['state']}")
    _assert_refused(response, client, 403, "could not be verified")

    flow = begin(client)
    forger.token_override = jwt.encode(claims, None, algorithm="none")
    response = client.get(f"/oidc/callback/?code=abc&state={flow.params['state']}")
    _assert_refused(response, client, 403, "could not be verified")


def test_it_follows_a_key_rotation_by_key_id(client, forger, settings):
    flow = begin(client)
    forger.claims = forger.good_claims(
        nonce=flow.params["nonce"], client_id=settings.OIDC_RP_CLIENT_ID
    )
    assert client.get(f"/oidc/callback/?code=a&state={flow.params['state']}").status_code == 302
    assert forger.jwks_fetches == 1

    rotated = new_key()
    forger.key, forger.kid = rotated, "forger-2"
    forger.header = {"kid": "forger-2"}
    forger.published = [public_jwk(rotated, "forger-2")]
    other = Client()
    flow = begin(other)
    forger.claims = forger.good_claims(
        nonce=flow.params["nonce"], client_id=settings.OIDC_RP_CLIENT_ID
    )

    assert other.get(f"/oidc/callback/?code=b&state={flow.params['state']}").status_code == 302
    assert forger.jwks_fetches == 2, "an unknown kid refetches the keys once"


def test_it_shows_who_has_no_role_a_clear_page_and_keeps_no_session(client, oidc_provider):
    response = sign_in(client, "nora")  # the provider sends no group claim for her

    _assert_refused(response, client, 403, "You have no role here")
    assert StaffProfile.objects.get(oidc_sub="nora").role == ""
    refusal = _sign_in_events(AuditEvent.REFUSED)[0]
    assert refusal.actor == "nora.norole@example.com"


def test_it_recomputes_the_role_at_every_sign_in_and_audits_the_change(client, oidc_provider):
    sign_in(client, "vera")
    assert StaffProfile.objects.get(oidc_sub="vera").role == "viewer"
    client.post("/auth/logout/")

    oidc_provider.add_user(
        "vera",
        {
            "email": "vera.viewer@example.com",
            "name": "Vera Viewer",
            "groups": ["opsconsole-admins"],
        },
    )
    sign_in(client, "vera")

    assert StaffProfile.objects.get(oidc_sub="vera").role == "admin"
    change = AuditEvent.objects.filter(action="auth.role_changed").first()
    assert change.details == {"from": "viewer", "to": "admin", "groups": ["opsconsole-admins"]}

    client.post("/auth/logout/")
    oidc_provider.add_user("vera", {"email": "vera.viewer@example.com", "groups": ["unrelated"]})
    response = sign_in(client, "vera")
    assert response.status_code == 403 and not is_signed_in(client)
    assert StaffProfile.objects.get(oidc_sub="vera").role == ""


def test_it_refuses_a_deactivated_user_at_sign_in(client, oidc_provider):
    sign_in(client, "oscar")
    client.post("/auth/logout/")
    StaffProfile.objects.filter(oidc_sub="oscar").update(is_active=False)

    response = sign_in(client, "oscar")

    _assert_refused(response, client, 403, "disabled")


def test_it_says_so_when_the_person_cancels_at_the_provider(client, oidc_provider):
    flow = begin(client)
    import requests

    denied = requests.post(
        flow.authorize_url, data={"action": "deny"}, allow_redirects=False, timeout=5
    )
    location = denied.headers["Location"]
    path = location.replace("http://testserver", "")

    _assert_refused(client.get(path), client, 403, "did not sign you in")


def test_it_shows_a_clear_page_when_the_provider_is_unreachable(client, oidc_provider, settings):
    settings.OIDC_OP_TOKEN_ENDPOINT = "http://127.0.0.1:9/token"  # nothing listens there
    settings.OIDC_TIMEOUT = 1
    flow = begin(client)
    response = flow.finish(flow.approve("ada"))
    _assert_refused(response, client, 502, "could not be reached")


def test_it_refuses_a_callback_that_took_too_long(client, oidc_provider, settings):
    flow = begin(client)
    callback = flow.approve("ada")
    session = client.session
    for entry in session["oidc_states"].values():
        entry["added_on"] -= settings.OIDC_STATE_MAX_AGE + 1
    session.save()
    _assert_refused(client.get(callback), client, 400, "took too long")
