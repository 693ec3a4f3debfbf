"""Reads other features may ask of the sagas (approvals shows a saga beside its request).

They go through the same caches as the case page: the execution history is read in full
(every page, newest first, down to what is cached), stored, and never refetched once the
execution is terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opsconsole.registry import get_registry

from .actions import _status_of, load_case
from .models import Saga
from .timeline import CAUGHT, FAILED, TIMED_OUT, Timeline

LATEST_STEPS = 12


@dataclass(frozen=True)
class Step:
    name: str
    at: datetime
    outcome: str = ""  # "", "failed", "current"


@dataclass(frozen=True)
class CaseSummary:
    """A saga in a few lines: where its execution stands and its latest steps."""

    saga: Saga
    execution_status: str = ""
    business_status: str = ""
    steps: tuple[Step, ...] = ()  # the latest ones, oldest first
    steps_hidden: int = 0  # earlier steps left out
    error: str = ""  # what could not be read live (the rest is the cache)
    data_as_of: datetime | None = None


def _steps(timeline: Timeline) -> list[Step]:
    current = timeline.current
    steps = []
    for visit in timeline.visits:
        if visit is current:
            outcome = "current"
        elif visit.outcome in (FAILED, CAUGHT, TIMED_OUT):
            outcome = "failed"
        else:
            outcome = ""
        steps.append(Step(visit.name, visit.entered_at, outcome))
    return steps


def case_summary(saga: Saga, *, latest: int = LATEST_STEPS) -> CaseSummary:
    """The saga's execution status, business status and `latest` steps, from the cached
    history (brought up to date through the case page's machinery when it can change)."""
    kind = get_registry().kinds.get(saga.kind)
    if kind is None:
        # A kind no longer configured: only the read model can speak for it.
        return CaseSummary(saga=saga, business_status=saga.business_status)
    case = load_case(saga)
    steps = _steps(case.timeline)
    status = case.timeline.status if case.timeline.event_count else saga.sfn_status
    business = _status_of(case.items, kind)
    return CaseSummary(
        saga=saga,
        execution_status=status,
        business_status=business if business is not None else saga.business_status,
        steps=tuple(steps[-latest:]) if latest > 0 else (),
        steps_hidden=max(0, len(steps) - latest),
        error=case.aws_error,
        data_as_of=case.data_as_of,
    )
