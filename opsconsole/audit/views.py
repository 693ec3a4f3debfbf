"""The audit page (built by the identity issue)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opsconsole.identity.roles import ADMIN, role_required


@require_GET
@role_required(ADMIN)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "sagas/home.html", {"kinds": []})
