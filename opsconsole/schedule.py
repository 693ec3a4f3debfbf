"""The beat schedule: features register their periodic jobs; Celery reads them.

Features call `register_periodic` from their `AppConfig.ready()`, so the schedule names no
feature and a new one brings its own jobs. Intervals may depend on settings, so they are
callables read when Celery finalizes its app (after settings and apps are loaded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Seconds = float | Callable[[Any], float]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str
    seconds: Seconds
    # A job still queued after this many intervals is stale: the next run supersedes it.
    expires_after_intervals: float = 2.0


_jobs: dict[str, PeriodicJob] = {}


def register_periodic(
    name: str, task: str, seconds: Seconds, *, expires_after_intervals: float = 2.0
) -> None:
    """Run `task` every `seconds` (a number, or a function of the settings)."""
    _jobs[name] = PeriodicJob(name, task, seconds, expires_after_intervals)


def beat_schedule(settings: Any) -> dict[str, dict[str, Any]]:
    schedule = {}
    for job in _jobs.values():
        seconds = float(job.seconds(settings) if callable(job.seconds) else job.seconds)
        schedule[job.name] = {
            "task": job.task,
            "schedule": seconds,
            "options": {"expires": seconds * job.expires_after_intervals},
        }
    return schedule
