"""What every page's layout needs: the navigation the user's role allows."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from opsconsole.aws import clients
from opsconsole.identity.roles import has_role, user_role
from opsconsole.plugins import nav_for
from opsconsole.registry import get_registry


def _environment_label() -> str:
    envs = get_registry().environments.values()
    return ", ".join(f"{e.name} ({e.region})" for e in envs)


def console(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": [], "console_role": None, "environment_label": _environment_label()}
    return {
        "nav": nav_for(request.path, lambda role: has_role(request, role)),
        "console_role": user_role(request),
        "environment_label": _environment_label(),
        # Named on every page while pages stop calling it (its circuit is open).
        "aws_unreachable": clients.open_circuits(),
    }
