"""The header's global saga search, on every page of a signed-in viewer (or above)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from opsconsole.identity.roles import VIEWER, has_role
from opsconsole.registry import get_registry, reload_problem


def search(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not has_role(request, VIEWER):
        return {}
    get_registry()  # notices a changed file (at most every few seconds)
    return {"search_url": reverse("sagas:search"), "registry_problem": reload_problem()}
