"""Sign-in and sign-out pages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST


@require_GET
def login_page(request: HttpRequest) -> HttpResponse:
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = ""
    return render(
        request,
        "identity/login.html",
        {"next": next_url, "issuer": settings.OIDC_OP_ISSUER, "demo": settings.OIDC_DEMO_USERS},
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return HttpResponseRedirect(reverse(settings.LOGOUT_REDIRECT_URL))
