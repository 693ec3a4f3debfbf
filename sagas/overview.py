"""The home page: per-kind counts by status from the read model, and how fresh it is."""

from __future__ import annotations

from django.core.cache import cache
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from opsconsole.identity.roles import VIEWER, has_role, role_required, user_role
from opsconsole.plugins import counters_for
from opsconsole.registry import get_registry

from .models import Saga, SagaStatus, SyncState
from .queries import COUNTS_TTL_SECONDS


@require_GET
@role_required(VIEWER)
def home(request: HttpRequest) -> HttpResponse:
    # Other apps' numbers (pending approvals, open alerts ...) come from what they registered.
    counters = counters_for(request, lambda role: has_role(request, role))
    if "overview" not in request.GET:
        role = user_role(request)
        landing = next((c for c in counters if c["landing_for"] == role and c["url"]), None)
        if landing is not None:
            # Approvers start where their work is; the overview stays one click away.
            return redirect(landing["url"])
    registry = get_registry()
    now = timezone.now()
    states = {s.kind: s for s in SyncState.objects.all()}
    version = "|".join(
        f"{k}:{s.last_success_at.isoformat() if s.last_success_at else ''}"
        for k, s in sorted(states.items())
    )
    # Counting every saga on each visit is the page's only real cost; it changes per sync.
    key = f"saga-home-counts:{version}"
    by_kind: dict[str, dict[str, int]] | None = cache.get(key)
    if by_kind is None:
        by_kind = {}
        rows = Saga.objects.values("kind", "status").annotate(n=Count("id")).order_by()
        for row in rows:
            by_kind.setdefault(row["kind"], {})[row["status"]] = row["n"]
        cache.set(key, by_kind, COUNTS_TTL_SECONDS)
    kinds = []
    for kind in registry.kinds.values():
        counts = by_kind.get(kind.key, {})
        state = states.get(kind.key)
        kinds.append(
            {
                "kind": kind,
                "total": sum(counts.values()),
                "statuses": [
                    {
                        "value": s.value,
                        "label": s.label,
                        "n": counts.get(s.value, 0),
                        "alarm": s == SagaStatus.COMPENSATION_FAILED and counts.get(s.value, 0),
                    }
                    for s in SagaStatus
                ],
                "compensation_failed": counts.get(SagaStatus.COMPENSATION_FAILED.value, 0),
                "sync": state,
                "banner": state.as_banner(now) if state else {"level": "warn", "never": True},
                "stuck_url": reverse("sagas:list", args=[kind.key]) + "?stuck=1",
            }
        )
    return render(request, "sagas/home.html", {"kinds": kinds, "counters": counters})
