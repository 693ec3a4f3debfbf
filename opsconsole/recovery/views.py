"""Recovery: DLQs and event archives."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opsconsole.identity.roles import VIEWER, role_required


@require_GET
@role_required(VIEWER)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "sagas/home.html", {"kinds": []})
