"""Why a saga may not be in the list yet: the state of each kind's sync (pure reads).

For the kind's list page, the API and the admins' budget page: whether the kind is kept
current by events or by polling, the last event and how late it arrived, the backlog of
executions listed but not described yet, the safety net's last listing, and the use of the
AWS call budget (calls, AWS throttles and budget refusals over the last minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from opsconsole.aws import budget
from opsconsole.registry import Registry, SagaKind, get_registry

from .config import kind_sync
from .models import Saga, SyncState

# The kinds of work the sync spends the budget on.
SYNC_WORK = ("sync", "events", "backfill")


@dataclass(frozen=True)
class SyncStatus:
    kind: str
    mode: str  # "events" (status change events, polling as safety net) or "polling"
    events_queue: str | None
    backlog: int  # listed or announced without input: waiting for their describe
    last_event_at: datetime | None
    last_event_lag_seconds: float | None
    events_applied: int
    last_listing_at: datetime | None
    listing_interval_seconds: float
    last_success_at: datetime | None
    last_error: str
    failing: bool
    budget: tuple[budget.Usage, ...]
    last_event_age_seconds: float | None = None
    last_listing_age_seconds: float | None = None
    # Ended by the safety net's listing, still shown running: their event is awaited.
    awaiting_events: int = 0

    @property
    def throttled_last_minute(self) -> int:
        return sum(u.throttled_last_minute for u in self.budget)

    @property
    def refused_last_minute(self) -> int:
        return sum(u.refused_last_minute for u in self.budget)


def sync_status(
    kind: SagaKind,
    registry: Registry | None = None,
    usage: list[budget.Usage] | None = None,
) -> SyncStatus:
    """The sync state of one kind (two queries, plus the budget's counters)."""
    registry = registry or get_registry()
    queue = kind_sync(registry, kind.key).events_queue
    state = SyncState.objects.filter(kind=kind.key).first()
    backlog = Saga.objects.filter(kind=kind.key, details_pending=True).count()
    usage = budget.usage() if usage is None else usage
    mine = tuple(u for u in usage if u.environment == kind.environment and u.work in SYNC_WORK)
    return SyncStatus(
        kind=kind.key,
        mode="events" if queue else "polling",
        events_queue=queue,
        backlog=backlog,
        last_event_at=state.last_event_at if state else None,
        last_event_lag_seconds=(
            state.last_event_lag_ms / 1000
            if state and state.last_event_lag_ms is not None
            else None
        ),
        events_applied=state.events_applied if state else 0,
        last_listing_at=state.last_listing_at if state else None,
        listing_interval_seconds=(
            settings.SYNC_SAFETY_NET_SECONDS if queue else settings.SYNC_INTERVAL_SECONDS
        ),
        last_success_at=state.last_success_at if state else None,
        last_error=state.last_error if state and state.is_failing else "",
        failing=bool(state and state.is_failing),
        budget=mine,
        last_event_age_seconds=age_seconds(state.last_event_at if state else None),
        last_listing_age_seconds=age_seconds(state.last_listing_at if state else None),
        awaiting_events=len(state.awaiting_events or {}) if state else 0,
    )


def all_sync_statuses(registry: Registry | None = None) -> list[SyncStatus]:
    registry = registry or get_registry()
    usage = budget.usage()
    return [sync_status(k, registry, usage) for k in registry.kinds.values()]


def age_seconds(when: datetime | None) -> float | None:
    return (timezone.now() - when).total_seconds() if when else None
