"""The approvals' business signals for monitoring (registered in ApprovalsConfig)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count, Min
from django.urls import reverse

from opsconsole.registry import get_registry

from .models import WAITING_STATUSES, ApprovalRequest

Series = list[tuple[dict[str, str], float | None]]


def _waiting() -> dict[str, tuple[int, datetime | None]]:
    rows = {
        r["kind"]: (r["n"], r["oldest"])
        for r in ApprovalRequest.objects.filter(status__in=WAITING_STATUSES)
        .values("kind")
        .annotate(n=Count("id"), oldest=Min("requested_at"))
    }
    for kind in get_registry().kinds:
        rows.setdefault(kind, (0, None))
    return rows


def approvals_waiting(now: datetime) -> Series:
    """Per kind: approval requests waiting for a decision."""
    return [({"kind": k}, float(n)) for k, (n, _) in _waiting().items()]


def approval_oldest_wait(now: datetime) -> Series:
    """Per kind: seconds the oldest waiting request has waited (0 when none waits)."""
    return [
        ({"kind": k}, max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        for k, (_, oldest) in _waiting().items()
    ]


def link(labels: dict[str, str]) -> str | None:
    return reverse("approvals:inbox")


def link_oldest(labels: dict[str, str]) -> str | None:
    """What an "oldest wait" alert is about: that request's page (its saga is linked there)."""
    oldest = (
        ApprovalRequest.objects.filter(status__in=WAITING_STATUSES, kind=labels.get("kind", ""))
        .order_by("requested_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    if oldest is None:
        return link(labels)
    return reverse("approvals:detail", args=[oldest])
