"""Recovery's signal for monitoring: each DLQ's depth, as the 30-second poll of SQS
attributes last read it (fresher than CloudWatch's ApproximateNumberOfMessagesVisible)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.urls import reverse

from opsconsole.registry import get_registry

from .config import dlqs
from .models import QueueDepth

Series = list[tuple[dict[str, str], float | None]]
# A depth read longer ago than this is no data: the poll has stopped or keeps failing.
STALE_AFTER = timedelta(minutes=5)


def dlq_depth(now: datetime) -> Series:
    """Per DLQ: visible messages (None when not read successfully in the last 5 minutes)."""
    depths = {d.name: d for d in QueueDepth.objects.all()}
    out: Series = []
    for dlq in dlqs(get_registry()):
        row = depths.get(dlq.name)
        fresh = row is not None and row.read_at is not None and row.read_at >= now - STALE_AFTER
        value = float(row.visible) if fresh and row and row.visible is not None else None
        out.append(({"dlq": dlq.name, "queue": dlq.queue, "kind": dlq.kind or ""}, value))
    return out


def link(labels: dict[str, str]) -> str | None:
    return f"{reverse('recovery:index')}#dlq-{labels.get('dlq', '')}"
