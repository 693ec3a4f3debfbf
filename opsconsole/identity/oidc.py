"""OIDC sign-in: mozilla-django-oidc, hardened, with roles taken from the provider's groups.

What the library leaves open and this module closes:
- the ID token is verified with RS256 only, against the provider's JWKS, honouring the key id
  (an unknown kid refetches the keys once, for rotation); `iss`, `aud` (and `azp` when there
  are several audiences), `exp`, `iat`, `sub` and `nonce` are required and checked;
- every call to the provider has a timeout, and an unreachable provider is a clear page;
- a refused sign-in (tampered or replayed state, bad token, no role) keeps no session and
  shows the person why, and is audited; so are successful sign-ins and role changes;
- claims from userinfo must carry the ID token's `sub`.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib import auth
from django.core.cache import cache
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView

from opsconsole.audit.log import Actor, record
from opsconsole.audit.models import AuditEvent

from .models import StaffProfile
from .roles import ADMIN, APPROVER, OPERATOR, ROLES, VIEWER

logger = logging.getLogger(__name__)

_PRECEDENCE = [ADMIN, OPERATOR, APPROVER, VIEWER]
SESSION_METHOD_KEY = "auth_method"


class SignInRefused(Exception):
    """A sign-in that must not produce a session; `reason` is shown to the person."""

    def __init__(self, reason: str, *, status: int = 403, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.detail = detail or reason


class NoRole(SignInRefused):
    """The provider vouched for the person, but none of their groups maps to a role."""

    def __init__(self, user: Any, groups: list[str]) -> None:
        super().__init__("You have no role in opsconsole.", detail=f"groups={groups}")
        self.user = user
        self.groups = groups


def role_map() -> dict[str, str]:
    """The configured group -> role mapping (unknown role names are ignored)."""
    mapping: dict[str, str] = {}
    for pair in settings.OIDC_ROLE_MAP.split(","):
        if "=" in pair:
            group, role = pair.split("=", 1)
            if role.strip() in ROLES:
                mapping[group.strip()] = role.strip()
    return mapping


def role_for_groups(groups: list[str]) -> str:
    """The strongest role any of the groups maps to; '' when none does."""
    mapping = role_map()
    held = {mapping[g] for g in groups if g in mapping}
    return next((r for r in _PRECEDENCE if r in held), "")


def groups_from_claims(claims: dict[str, Any]) -> list[str]:
    groups = claims.get(settings.OIDC_GROUPS_CLAIM)
    if groups is None:
        return []
    if isinstance(groups, str):
        groups = [groups]
    if not isinstance(groups, list):
        return []
    return [str(g) for g in groups]


def user_actor(user: Any, role: str = "") -> Actor:
    profile = getattr(user, "staff_profile", None)
    return Actor(
        type="user",
        id=user.email or user.username,
        sub=getattr(profile, "oidc_sub", "") or user.username,
        role=role or getattr(profile, "role", "") or "",
    )


# --- keys ------------------------------------------------------------------------------


def _jwks_cache_key() -> str:
    return f"oidc-jwks:{settings.OIDC_OP_JWKS_ENDPOINT}"


def _fetch_jwks() -> list[dict[str, Any]]:
    try:
        response = requests.get(
            settings.OIDC_OP_JWKS_ENDPOINT,
            timeout=settings.OIDC_TIMEOUT,
            verify=settings.OIDC_VERIFY_SSL,
        )
        response.raise_for_status()
        keys = response.json().get("keys", [])
    except (requests.RequestException, ValueError) as exc:
        raise SignInRefused(
            "The identity provider could not be reached. Try again in a minute.",
            status=502,
            detail=f"jwks: {type(exc).__name__}: {exc}",
        ) from None
    keys = [k for k in keys if isinstance(k, dict)]
    cache.set(_jwks_cache_key(), keys, settings.OIDC_JWKS_CACHE_SECONDS)
    return keys


def _signing_key(kid: str | None) -> jwt.PyJWK:
    """The provider's key for `kid`: cached keys first, one refetch on a miss (rotation)."""

    def pick(keys: list[dict[str, Any]]) -> dict[str, Any] | None:
        usable = [
            k
            for k in keys
            if k.get("kty") == "RSA"
            and k.get("use", "sig") == "sig"
            and k.get("alg", settings.OIDC_RP_SIGN_ALGO) == settings.OIDC_RP_SIGN_ALGO
        ]
        if kid is None:
            # Without a kid the choice is only unambiguous when there is one key.
            return usable[0] if len(usable) == 1 else None
        return next((k for k in usable if k.get("kid") == kid), None)

    cached = cache.get(_jwks_cache_key())
    key = pick(cached) if cached else None
    if key is None:
        key = pick(_fetch_jwks())
    if key is None:
        raise SignInRefused(
            "The sign-in could not be verified.",
            detail=f"no signing key for kid={kid!r}",
        )
    try:
        return jwt.PyJWK(key, algorithm=settings.OIDC_RP_SIGN_ALGO)
    except jwt.PyJWKError as exc:
        raise SignInRefused("The sign-in could not be verified.", detail=str(exc)) from None


def verify_id_token(token: str, *, nonce: str | None) -> dict[str, Any]:
    """The ID token's claims, or SignInRefused: signature, kid, iss, aud, exp, nonce checked."""
    refused = "The sign-in could not be verified."
    if not isinstance(token, str) or not token:
        raise SignInRefused(refused, detail="no id_token in the token response")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise SignInRefused(refused, detail=f"malformed id_token: {exc}") from None
    if header.get("alg") != settings.OIDC_RP_SIGN_ALGO:
        raise SignInRefused(refused, detail=f"id_token alg {header.get('alg')!r} refused")
    key = _signing_key(header.get("kid"))
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[settings.OIDC_RP_SIGN_ALGO],
            audience=settings.OIDC_RP_CLIENT_ID,
            issuer=settings.OIDC_OP_ISSUER,
            leeway=settings.OIDC_CLOCK_SKEW,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise SignInRefused(
            "The sign-in took too long and expired. Please sign in again.",
            detail="id_token expired",
        ) from None
    except jwt.InvalidAudienceError:
        raise SignInRefused(refused, detail="id_token audience is not this console") from None
    except jwt.InvalidIssuerError:
        raise SignInRefused(refused, detail="id_token issuer is not the configured one") from None
    except jwt.PyJWTError as exc:
        raise SignInRefused(refused, detail=f"id_token invalid: {exc}") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != settings.OIDC_RP_CLIENT_ID:
        raise SignInRefused(refused, detail="id_token azp is not this console")
    if settings.OIDC_USE_NONCE and (not nonce or claims.get("nonce") != nonce):
        raise SignInRefused(refused, detail="id_token nonce does not match this sign-in")
    return claims


# --- the backend -----------------------------------------------------------------------


class ConsoleOIDCBackend(OIDCAuthenticationBackend):
    """Users are matched by the provider's `sub`; the role is recomputed at every sign-in."""

    def authenticate(self, request: Any, **kwargs: Any) -> Any:
        # Only the OIDC callback calls this backend (it passes nonce/code_verifier).
        if request is None or "nonce" not in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except requests.RequestException as exc:
            raise SignInRefused(
                "The identity provider could not be reached. Try again in a minute.",
                status=502,
                detail=f"{type(exc).__name__}: {exc}"[:500],
            ) from None
        except SuspiciousOperation as exc:
            raise SignInRefused("The sign-in could not be verified.", detail=str(exc)) from None

    def get_user(self, user_id: Any) -> Any:
        # The profile (role, active flag) is needed on every request: one query, not two.
        return self.UserModel.objects.select_related("staff_profile").filter(pk=user_id).first()

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        return verify_id_token(token, nonce=kwargs.get("nonce"))

    def get_userinfo(self, access_token: str, id_token: str, payload: dict[str, Any]) -> Any:
        if not settings.OIDC_OP_USER_ENDPOINT:
            return dict(payload)
        info = super().get_userinfo(access_token, id_token, payload)
        if not isinstance(info, dict) or info.get("sub") != payload.get("sub"):
            raise SignInRefused(
                "The sign-in could not be verified.", detail="userinfo sub differs from id_token"
            )
        # The verified ID token wins where both carry a claim.
        return {**info, **payload}

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        sub = claims.get("sub")
        if not sub:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(
            staff_profile__oidc_sub=str(sub), staff_profile__oidc_issuer=settings.OIDC_OP_ISSUER
        )

    def create_user(self, claims: dict[str, Any]) -> Any:
        base = f"oidc-{claims['sub']}"[:140]
        username = base
        suffix = 1
        while self.UserModel.objects.filter(username=username).exists():
            suffix += 1
            username = f"{base}-{suffix}"
        user = self.UserModel.objects.create_user(username=username, email=claims.get("email", ""))
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        groups = groups_from_claims(claims)
        role = role_for_groups(groups)
        with transaction.atomic():
            user.email = str(claims.get("email") or user.email)[:254]
            user.first_name = str(claims.get("given_name") or claims.get("name") or "")[:150]
            user.last_name = str(claims.get("family_name") or "")[:150]
            user.save()
            profile, _ = StaffProfile.objects.get_or_create(user=user)
            previous = profile.role
            if previous != role:
                profile.role_updated_at = timezone.now()
            profile.role = role
            profile.groups = groups
            profile.oidc_sub = str(claims["sub"])
            profile.oidc_issuer = settings.OIDC_OP_ISSUER
            profile.save()
            user.staff_profile = profile
            if previous != role:
                record(
                    user_actor(user, role),
                    "auth.role_changed",
                    result=AuditEvent.SUCCEEDED,
                    target_type="user",
                    target_id=user.email or user.username,
                    details={"from": previous or None, "to": role or None, "groups": groups},
                )
        if not role:
            raise NoRole(user, groups)
        return user


# --- the callback ----------------------------------------------------------------------


def refuse_sign_in(request: HttpRequest, exc: SignInRefused, actor: Actor | None = None) -> Any:
    """End whatever session there was, audit the refusal, and show the person why."""
    if hasattr(request, "session"):
        auth.logout(request)
    no_role = isinstance(exc, NoRole)
    record(
        actor or Actor(type="anonymous", id="anonymous"),
        "auth.sign_in",
        result=AuditEvent.REFUSED,
        error=exc.detail[:2000],
        details={"method": "oidc", "reason": exc.reason},
    )
    logger.warning("sign-in refused: %s", exc.detail)
    template = "identity/forbidden.html" if no_role else "identity/signin_failed.html"
    response = render(
        request,
        template,
        {"reason": exc.reason, "role": None, "signed_out": True},
        status=exc.status,
    )
    add_never_cache_headers(response)
    return response


def complete_sign_in(request: HttpRequest, user: Any, method: str) -> None:
    """Start the session's clocks and audit the sign-in (the user is already logged in)."""
    now = time.time()
    request.session["signed_in_at"] = now
    request.session["last_seen_at"] = now
    request.session[SESSION_METHOD_KEY] = method
    role = getattr(getattr(user, "staff_profile", None), "role", "")
    record(
        user_actor(user, role),
        "auth.sign_in",
        result=AuditEvent.SUCCEEDED,
        details={"method": method, "role": role},
    )


class ConsoleCallbackView(OIDCAuthenticationCallbackView):
    """The provider's redirect back: every failure is a page, never a 400/500 or a session."""

    def get(self, request: HttpRequest) -> HttpResponse:  # type: ignore[override]
        try:
            user = self._authenticate(request)
        except NoRole as exc:
            return refuse_sign_in(request, exc, user_actor(exc.user))
        except SignInRefused as exc:
            return refuse_sign_in(request, exc)
        self.user = user
        response = self.login_success()
        complete_sign_in(request, user, "oidc")
        add_never_cache_headers(response)
        return response

    def _authenticate(self, request: HttpRequest) -> Any:
        if request.GET.get("error"):
            self._forget_state(request)
            error = str(request.GET.get("error"))[:100]
            raise SignInRefused(
                "The identity provider did not sign you in.",
                detail=f"provider error: {error}: {request.GET.get('error_description', '')}",
            )
        state = request.GET.get("state")
        code = request.GET.get("code")
        if not state or not code:
            raise SignInRefused("This sign-in link is incomplete.", status=400)
        states = request.session.get("oidc_states")
        entry = states.pop(state, None) if isinstance(states, dict) else None
        if entry is None:
            raise SignInRefused(
                "This sign-in link is not valid: it was used already, it expired, "
                "or it was started in another browser.",
                status=400,
                detail="state not found in this session (tampered or replayed callback)",
            )
        # The state is single-use: forget it before anything else can fail.
        request.session["oidc_states"] = states
        request.session.save()
        if time.time() - float(entry.get("added_on", 0)) > settings.OIDC_STATE_MAX_AGE:
            raise SignInRefused(
                "The sign-in took too long and expired. Please sign in again.",
                status=400,
                detail="state older than OIDC_STATE_MAX_AGE",
            )
        # Reload, like the library: parallel tabs may have changed the session meanwhile.
        request.session = request.session.__class__(request.session.session_key)
        user = auth.authenticate(
            request=request, nonce=entry.get("nonce"), code_verifier=entry.get("code_verifier")
        )
        if user is None:
            raise SignInRefused("The sign-in could not be completed.", detail="no user")
        if not user.is_active or not getattr(user.staff_profile, "is_active", True):
            raise SignInRefused(
                "Your opsconsole account is disabled. Ask an administrator.",
                detail="user deactivated",
            )
        return user

    @staticmethod
    def _forget_state(request: HttpRequest) -> None:
        states = request.session.get("oidc_states")
        if isinstance(states, dict) and states.pop(request.GET.get("state", ""), None):
            request.session["oidc_states"] = states


# --- sign-out --------------------------------------------------------------------------


def provider_logout_url(request: HttpRequest) -> str:
    """Where sign-out goes: the provider's end-session endpoint when configured, else login.

    Also used by mozilla-django-oidc's own /oidc/logout/ (OIDC_OP_LOGOUT_URL_METHOD), so
    both sign-out routes behave the same; called just before the session ends, it records
    the sign-out in the audit log.
    """
    user = getattr(request, "user", None)
    method = request.session.get(SESSION_METHOD_KEY, "")
    if user is not None and user.is_authenticated:
        record(
            user_actor(user),
            "auth.sign_out",
            result=AuditEvent.SUCCEEDED,
            details={"method": method},
        )
    login_url = reverse(settings.LOGOUT_REDIRECT_URL)
    endpoint = settings.OIDC_OP_LOGOUT_ENDPOINT
    if not endpoint or method != "oidc":
        return login_url
    params = {
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(login_url),
    }
    if id_token := request.session.get("oidc_id_token"):
        params["id_token_hint"] = id_token
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{urlencode(params)}"


def sign_out(request: HttpRequest) -> HttpResponse:
    """End the server session (audited) and send the browser to the provider's sign-out."""
    url = provider_logout_url(request)
    auth.logout(request)
    return HttpResponseRedirect(url)
