"""What every page's layout needs: the navigation the user's role allows."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from opsconsole.identity.roles import has_role, user_role
from opsconsole.registry import get_registry

# (label, url name, role needed); a kind's list page is added per saga kind.
_NAV_AFTER_KINDS = [
    ("Approvals", "approvals:inbox", "viewer"),
    ("Recovery", "recovery:index", "viewer"),
    ("Alerts", "monitoring:alerts", "viewer"),
    ("Audit", "audit:index", "admin"),
    ("API tokens", "identity:tokens", "admin"),
]


def _environment_label() -> str:
    envs = get_registry().environments.values()
    return ", ".join(f"{e.name} ({e.region})" for e in envs)


def console(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": [], "console_role": None, "environment_label": _environment_label()}
    registry = get_registry()
    nav = []
    path = request.path
    for kind in registry.kinds.values():
        url = reverse("sagas:list", args=[kind.key])
        nav.append({"label": kind.label, "url": url, "active": path.startswith(url)})
    for label, name, role in _NAV_AFTER_KINDS:
        if has_role(request, role):
            url = reverse(name)
            nav.append({"label": label, "url": url, "active": path.startswith(url)})
    return {
        "nav": nav,
        "console_role": user_role(request),
        "environment_label": _environment_label(),
    }
