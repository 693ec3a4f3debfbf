"""Session policy (idle and absolute lifetime, deactivation) and deny-by-default sign-in."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

# Paths reachable without a session: sign-in itself, probes, static files, and the API
# (which authenticates each request itself and answers 401/403, never a redirect).
PUBLIC_PREFIXES = (
    "/auth/login/",
    "/auth/logout/",
    "/auth/break-glass/",
    "/oidc/",
    "/healthz",
    "/readyz",
    "/metrics",
    "/static/",
    "/api/",
)
API_PREFIX = "/api/"
# Idle tracking writes the session at most this often.
_TOUCH_EVERY_SECONDS = 60


def _return_to(request: HttpRequest) -> str:
    """Where to come back after signing in: for htmx, the page, not the fragment."""
    if getattr(request, "htmx", False):
        current = request.headers.get("HX-Current-URL", "")
        parts = urlsplit(current)
        if current and url_has_allowed_host_and_scheme(current, {request.get_host()}):
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return "/"
    if request.method != "GET":
        # A form posted into an ended session is not replayed; return to where it was.
        referer = request.headers.get("Referer", "")
        if referer and url_has_allowed_host_and_scheme(referer, {request.get_host()}):
            parts = urlsplit(referer)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return "/"
    return request.get_full_path()


def login_redirect(request: HttpRequest, reason: str = "") -> HttpResponse:
    params = {"next": _return_to(request)}
    if reason:
        params["reason"] = reason
    url = f"{reverse(settings.LOGIN_URL)}?{urlencode(params)}"
    response: HttpResponse
    if getattr(request, "htmx", False):
        # htmx follows this with a full page load instead of swapping a login form into a cell.
        response = HttpResponseClientRedirect(url)
    else:
        response = HttpResponseRedirect(url)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _end_reason(request: HttpRequest, user: object) -> str:
    """Why this session must end now ('' when it may go on)."""
    now = timezone.now().timestamp()
    session = request.session
    started = session.get("signed_in_at", now)
    last = session.get("last_seen_at", now)
    if not getattr(user, "is_active", False):
        return "disabled"
    profile = getattr(user, "staff_profile", None)
    if profile is not None and not profile.is_active:
        return "disabled"
    if session.get("auth_method") == "break_glass" and not settings.BREAK_GLASS_LOGIN:
        return "break_glass_off"
    if now - started > settings.SESSION_MAX_AGE.total_seconds():
        return "expired"
    if now - last > settings.SESSION_IDLE_TIMEOUT.total_seconds():
        return "idle"
    return ""


class SessionPolicyMiddleware:
    """End sessions idle too long, older than their lifetime, or of deactivated users.

    Runs on every method (a POST into an expired session is refused like a GET) and on the
    API too, where the request then continues unauthenticated and DRF answers 401/403.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            reason = _end_reason(request, user)
            if reason:
                if reason == "disabled":
                    self._audit_disabled(user)
                logout(request)
                if request.path.startswith(API_PREFIX):
                    return self.get_response(request)
                return login_redirect(request, reason)
            now = timezone.now().timestamp()
            request.session.setdefault("signed_in_at", now)
            last = request.session.get("last_seen_at")
            if last is None or now - last > _TOUCH_EVERY_SECONDS:
                request.session["last_seen_at"] = now
            response = self.get_response(request)
            if "Cache-Control" not in response:
                # Signed-in pages may show personal data: no shared caches, and nothing a
                # browser's back button can show once the session has ended.
                patch_cache_control(response, private=True, no_store=True)
            return response
        return self.get_response(request)

    @staticmethod
    def _audit_disabled(user: object) -> None:
        from opsconsole.audit.log import record
        from opsconsole.audit.models import AuditEvent

        from .oidc import user_actor

        record(
            user_actor(user),
            "auth.session_ended",
            result=AuditEvent.REFUSED,
            error="account deactivated",
        )


class LoginRequiredMiddleware:
    """Every page needs a signed-in user; public paths are listed, not assumed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PUBLIC_PREFIXES) and not request.user.is_authenticated:
            return login_redirect(request)
        return self.get_response(request)
