"""Sign-in, sign-out, break-glass login, and the admin page for service-account tokens."""

from __future__ import annotations

import json
import logging
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsconsole.audit.log import Actor, record
from opsconsole.audit.models import AuditEvent
from opsconsole.web.http import HtmxHttpRequest, local_url

from . import actions, oidc
from .models import ApiToken
from .roles import ADMIN, ROLES, actor_for, role_required, user_role

logger = logging.getLogger(__name__)

REASONS = {
    "idle": "You were signed out after a while without activity. Sign in again to continue.",
    "expired": "Your session reached its maximum length. Sign in again to continue.",
    "disabled": "Your opsconsole account is disabled. Ask an administrator.",
    "break_glass_off": "Break-glass sign-in has been turned off.",
}


def demo_users() -> list[dict[str, Any]]:
    """The local provider's users, as it wrote them when it started (demo only)."""
    if not settings.OIDC_DEMO_USERS:
        return []
    try:
        data = json.loads(settings.OIDC_DEMO_USERS_FILE.read_text())
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [u for u in data if isinstance(u, dict) and "sub" in u]


@require_GET
def login_page(request: HtmxHttpRequest) -> HttpResponse:
    next_url = local_url(request, request.GET.get("next", ""))
    if request.user.is_authenticated and user_role(request):
        return HttpResponseRedirect(next_url or reverse(settings.LOGIN_REDIRECT_URL))
    response = render(
        request,
        "identity/login.html",
        {
            "next": next_url,
            "issuer": settings.OIDC_OP_ISSUER,
            "demo_users": demo_users(),
            "reason": REASONS.get(request.GET.get("reason", ""), ""),
            "break_glass": settings.BREAK_GLASS_LOGIN,
        },
    )
    add_never_cache_headers(response)
    return response


@require_POST
def logout_view(request: HtmxHttpRequest) -> HttpResponse:
    return oidc.sign_out(request)


# --- break-glass -----------------------------------------------------------------------

_LOCK_AFTER_FAILURES = 5
_LOCK_SECONDS = 15 * 60


class BreakGlassForm(forms.Form):
    username = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, max_length=200)
    reason = forms.CharField(
        max_length=500, help_text="Why the identity provider cannot be used (audited)."
    )


def _failures_key(username: str) -> str:
    return f"break-glass-failures:{username.lower()}"


@require_http_methods(["GET", "POST"])
def break_glass(request: HtmxHttpRequest) -> HttpResponse:
    """Local username/password sign-in for emergencies: only when enabled, always audited."""
    if not settings.BREAK_GLASS_LOGIN:
        raise Http404("Break-glass sign-in is not enabled.")
    form = BreakGlassForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        reason = form.cleaned_data["reason"]
        actor = Actor(type="user", id=username, sub=username)
        failures = cache.get(_failures_key(username), 0)
        user = None
        if failures >= _LOCK_AFTER_FAILURES:
            error = "Too many failed attempts for this account. Wait 15 minutes."
        else:
            user = ModelBackend().authenticate(
                request, username=username, password=form.cleaned_data["password"]
            )
            role = user_role(user) if user is not None else None
            if user is None or role is None:
                cache.set(_failures_key(username), failures + 1, _LOCK_SECONDS)
                error = "Those credentials are not valid for break-glass sign-in."
                user = None
        if user is None:
            record(
                actor,
                "auth.break_glass",
                result=AuditEvent.REFUSED,
                reason=reason,
                error=error,
            )
        else:
            cache.delete(_failures_key(username))
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            oidc.complete_sign_in(request, user, "break_glass")
            record(
                oidc.user_actor(user),
                "auth.break_glass",
                result=AuditEvent.SUCCEEDED,
                reason=reason,
            )
            return HttpResponseRedirect(reverse(settings.LOGIN_REDIRECT_URL))
    response = render(
        request,
        "identity/break_glass.html",
        {"form": form, "error": error},
        status=403 if error else 200,
    )
    add_never_cache_headers(response)
    return response


# --- API tokens ------------------------------------------------------------------------


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The service account, e.g. servicenow.")
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES], initial="viewer")
    expires_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=actions.MAX_EXPIRY_DAYS,
        initial=90,
        help_text="Empty: never expires.",
    )
    rate_limit = forms.CharField(
        required=False,
        max_length=32,
        help_text="e.g. 120/minute. Empty: the default (OPSCONSOLE_API_RATE).",
    )


# Where a token just created waits for the redirected GET that shows it, once.
_JUST_CREATED = "identity.just_created"


def _tokens_page(
    request: HttpRequest, form: TokenForm, *, created: ApiToken | None = None, raw: str = ""
) -> HttpResponse:
    page = Paginator(ApiToken.objects.all(), 50).get_page(request.GET.get("page"))
    response = render(
        request,
        "identity/tokens.html",
        {"form": form, "page": page, "created": created, "raw_token": raw},
        status=400 if form.errors else 200,
    )
    # The page may carry a secret shown once: never cached, never in history.
    add_never_cache_headers(response)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def tokens(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        # Redirect after POST: the new token waits in the session for this one GET, so a
        # reload neither creates a second token nor shows the secret again.
        fresh = request.session.pop(_JUST_CREATED, None)
        if fresh:
            created = ApiToken.objects.filter(pk=fresh.get("id")).first()
            return _tokens_page(request, TokenForm(), created=created, raw=fresh.get("raw", ""))
        return _tokens_page(request, TokenForm())
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form)
    try:
        token, raw = actions.issue_api_token(
            actor_for(request),
            form.cleaned_data["name"],
            form.cleaned_data["role"],
            expires_days=form.cleaned_data["expires_days"],
            rate_limit=form.cleaned_data["rate_limit"].strip(),
        )
    except actions.TokenError as exc:
        form.add_error(None, str(exc))
        return _tokens_page(request, form)
    request.session[_JUST_CREATED] = {"id": token.pk, "raw": raw}
    return HttpResponseRedirect(reverse("identity:tokens"))


@require_POST
@role_required(ADMIN)
def revoke_token(request: HtmxHttpRequest, token_id: int) -> HttpResponse:
    """Revoke once confirmed: the page's dialog confirms with JavaScript; without it, this
    answers with a confirmation page first."""
    if request.POST.get("confirmed") != "1":
        candidate = ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).first()
        if candidate is None:
            raise Http404("No such token.")
        return render(request, "identity/revoke_confirm.html", {"token": candidate})
    token = actions.revoke_api_token(actor_for(request), token_id)
    if token is None:
        raise Http404("No such token.")
    return HttpResponseRedirect(reverse("identity:tokens"))
