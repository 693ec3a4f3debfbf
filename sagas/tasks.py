"""Celery tasks of the sagas app: thin wrappers around its sync."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from . import sync, sync_events


@shared_task(name="sagas.tasks.sync_all_kinds", ignore_result=True)
def sync_all_kinds() -> dict[str, str]:
    """Beat's periodic sync of every saga kind (each kind's error is kept in its SyncState).
    Kinds kept current by events are listed once per safety-net interval; their pending
    describes progress on every run."""
    results = sync.sync_all(periodic=True)
    return {
        r.kind: (r.error or ("pending only" if r.skipped else f"{r.new} new, {r.updated} updated"))
        for r in results
    }


@shared_task(name="sagas.tasks.consume_status_events", ignore_result=True, acks_late=True)
def consume_status_events() -> dict[str, int]:
    """Apply the Step Functions status change events waiting in the kinds' queues (safe to
    run twice, or two at once: applying an event again changes nothing)."""
    # A short poll, at most one interval long: the task never holds a worker while idle.
    found = sync_events.consume(max_seconds=settings.SYNC_EVENTS_INTERVAL, wait_seconds=0)
    return {"received": found.received, "applied": found.applied, "errors": len(found.errors)}
