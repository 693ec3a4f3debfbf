"""The beat schedule: every periodic job, in one place."""

from __future__ import annotations

from typing import Any


def beat_schedule(settings: Any) -> dict[str, dict[str, Any]]:
    return {
        "sync-sagas": {
            "task": "sagas.tasks.sync_all_kinds",
            "schedule": settings.SYNC_INTERVAL_SECONDS,
            "options": {"expires": settings.SYNC_INTERVAL_SECONDS * 2},
        },
        "collect-approvals": {
            "task": "approvals.tasks.collect_approval_requests",
            "schedule": settings.APPROVALS_POLL_SECONDS,
            "options": {"expires": settings.APPROVALS_POLL_SECONDS * 2},
        },
        "poll-dlq-depths": {
            "task": "opsconsole.recovery.tasks.poll_dlq_depths",
            "schedule": 30.0,
            "options": {"expires": 60},
        },
        "sweep-approvals": {
            "task": "approvals.tasks.sweep_approval_requests",
            "schedule": 30.0,
            "options": {"expires": 60},
        },
    }
