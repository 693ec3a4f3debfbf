"""Session policy (idle and absolute lifetime) and deny-by-default sign-in."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

# Paths reachable without a session: sign-in itself, probes, static files, and the API
# (which authenticates each request itself).
PUBLIC_PREFIXES = ("/auth/", "/oidc/", "/healthz", "/readyz", "/static/", "/api/")


def _login_redirect(request: HttpRequest) -> HttpResponse:
    url = f"{reverse(settings.LOGIN_URL)}?next={request.get_full_path()}"
    if getattr(request, "htmx", False):
        # htmx follows this with a full page load instead of swapping a login form into a cell.
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


class SessionPolicyMiddleware:
    """End sessions idle too long or older than their absolute lifetime, on every method."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now().timestamp()
            started = request.session.get("signed_in_at", now)
            last = request.session.get("last_seen_at", now)
            expired = (now - last > settings.SESSION_IDLE_TIMEOUT.total_seconds()) or (
                now - started > settings.SESSION_MAX_AGE.total_seconds()
            )
            profile = getattr(user, "staff_profile", None)
            if expired or not user.is_active or (profile is not None and not profile.is_active):
                logout(request)
                return _login_redirect(request)
            request.session.setdefault("signed_in_at", now)
            # Write the session at most once a minute for idle tracking.
            if now - last > 60 or "last_seen_at" not in request.session:
                request.session["last_seen_at"] = now
        return self.get_response(request)


class LoginRequiredMiddleware:
    """Every page needs a signed-in user; public paths are listed, not assumed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(PUBLIC_PREFIXES) and not request.user.is_authenticated:
            return _login_redirect(request)
        return self.get_response(request)
