"""Alerts: the rules the registry declares."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opsconsole.identity.roles import VIEWER, role_required
from opsconsole.registry import get_registry

from .config import alert_rules


@require_GET
@role_required(VIEWER)
def alerts(request: HttpRequest) -> HttpResponse:
    return render(request, "monitoring/alerts.html", {"rules": alert_rules(get_registry())})
