"""The home page: per-kind counts by status from the read model."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django_htmx.middleware import HtmxDetails  # noqa: F401 - typing of request.htmx

from opsconsole.identity.roles import VIEWER, role_required
from opsconsole.registry import get_registry

from .models import Saga, SagaStatus


@require_GET
@role_required(VIEWER)
def home(request: HttpRequest) -> HttpResponse:
    registry = get_registry()
    rows = Saga.objects.values("kind", "status").annotate(n=Count("id")).order_by()
    by_kind: dict[str, dict[str, int]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], {})[row["status"]] = row["n"]
    kinds = []
    for kind in registry.kinds.values():
        counts = by_kind.get(kind.key, {})
        kinds.append(
            {
                "kind": kind,
                "total": sum(counts.values()),
                "statuses": [
                    {"value": s.value, "label": s.label, "n": counts.get(s.value, 0)}
                    for s in SagaStatus
                ],
            }
        )
    return render(request, "sagas/home.html", {"kinds": kinds})
