"""Which zone a person reads times in: UTC (the default) or one they choose, kept in a
cookie of their browser. Pages say the zone on every timestamp; the API and exports stay
in UTC."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from opsconsole.identity.roles import VIEWER, role_required
from opsconsole.web.http import local_url

COOKIE = "opsconsole_tz"
COOKIE_AGE = 365 * 24 * 3600


def zone_named(name: str | None) -> ZoneInfo | None:
    if not name or name == "UTC":
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def preferred_zone(request: HttpRequest) -> ZoneInfo | None:
    """The zone the person chose, None for UTC."""
    return zone_named(request.COOKIES.get(COOKIE))


class TimeZoneMiddleware:
    """Pages render times in the person's zone (Django's current time zone)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = preferred_zone(request)
        if zone is None:
            timezone.activate(ZoneInfo("UTC"))
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def context(request: HttpRequest) -> dict[str, Any]:
    zone = preferred_zone(request)
    return {"time_zone_name": zone.key if zone else "UTC"}


@require_http_methods(["GET", "POST"])
@role_required(VIEWER)
def choose(request: HttpRequest) -> HttpResponse:
    """Pick UTC or a zone (the browser's own is suggested when JavaScript runs)."""
    back = local_url(request, request.POST.get("next") or request.GET.get("next") or "") or "/"
    if request.method == "POST":
        name = (request.POST.get("tz") or "UTC").strip()
        if name == "other":
            name = (request.POST.get("zone") or "UTC").strip()
        zone = zone_named(name)
        response = redirect(back)
        response.set_cookie(
            COOKIE,
            zone.key if zone else "UTC",
            max_age=COOKIE_AGE,
            samesite="Lax",
            secure=request.is_secure(),
            httponly=True,
        )
        return response
    current = preferred_zone(request)
    return render(
        request,
        "sagas/time_zone.html",
        {
            "zones": sorted(z for z in available_timezones() if "/" in z),
            "current": current.key if current else "UTC",
            "next": back,
        },
    )
