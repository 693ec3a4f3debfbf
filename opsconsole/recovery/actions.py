"""Polling DLQ depths into the database, so pages never wait on AWS."""

from __future__ import annotations

from django.utils import timezone

from opsconsole.aws import errors, sqs
from opsconsole.registry import get_registry

from .config import dlqs
from .dlq.actions import poll_sources as dlq_sources
from .models import QueueDepth


def poll_dlq_depths() -> int:
    """Read each configured DLQ's depth; keep the last good numbers when a read fails."""
    registry = get_registry()
    now = timezone.now()
    for dlq in dlqs(registry):
        kind = registry.kinds.get(dlq.kind) if dlq.kind else None
        env = registry.env_for(kind) if kind else next(iter(registry.environments.values()))
        try:
            stats = sqs.queue_stats(dlq.queue, env)
        except errors.AwsError as exc:
            QueueDepth.objects.update_or_create(
                name=dlq.name,
                defaults={"queue": dlq.queue, "checked_at": now, "error": str(exc)[:300]},
            )
            continue
        QueueDepth.objects.update_or_create(
            name=dlq.name,
            defaults={
                "queue": dlq.queue,
                "visible": stats.visible,
                "in_flight": stats.in_flight,
                "read_at": now,
                "checked_at": now,
                "error": "",
                "retention_seconds": stats.retention_seconds,
                "sources": dlq_sources(dlq, env),
            },
        )
    return len(dlqs(registry))
