"""Celery tasks of the sagas app: thin wrappers around its actions."""

from __future__ import annotations

from celery import shared_task

from . import actions


@shared_task(name="sagas.tasks.sync_all_kinds", ignore_result=True)
def sync_all_kinds() -> dict[str, str]:
    """Beat's periodic sync of every saga kind (each kind's error is kept in its SyncState)."""
    results = actions.sync_all_kinds()
    return {r.kind: (r.error or f"{r.new} new, {r.updated} updated") for r in results}
