"""Celery tasks: thin wrappers around approvals.actions (scheduled in opsconsole/schedule.py)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from celery import shared_task

from . import actions


@shared_task(name="approvals.tasks.collect_approval_requests", ignore_result=True)
def collect_approval_requests() -> dict[str, Any]:
    """Drain the approval queues into approval requests."""
    return asdict(actions.collect_approval_requests())


@shared_task(name="approvals.tasks.sweep_approval_requests", ignore_result=True)
def sweep_approval_requests() -> dict[str, Any]:
    """Retry lost sends, link sagas, retire requests whose step no longer waits."""
    return asdict(actions.sweep_approval_requests())
