"""Alerts: the rules the registry declares."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opsconsole.identity.roles import VIEWER, role_required
from opsconsole.registry import get_registry


@require_GET
@role_required(VIEWER)
def alerts(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/alerts.html", {"rules": get_registry().alert_rules})
