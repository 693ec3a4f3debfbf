"""Domain events: what happened, told to whoever subscribed, never before the commit.

An action calls `emit(...)` inside its transaction, after its state change. Each subscriber
(registered from an app's `ready()` with `subscribe`) is called right away, in that same
transaction, so what it writes (an outbox row per webhook endpoint, a notification to send)
commits or rolls back with the change itself. Anything a subscriber sends outward (a Celery
task, an HTTP call) it schedules with `transaction.on_commit`, so nothing downstream ever
sees a change that rolled back. A failing subscriber fails the action: an event promised in
the envelope's contract is never silently dropped.

The envelope is versioned (`version`); a consumer keys on `id` to drop a redelivery. The
target is named by reference (type, id, label, link to its page), never by its content, so
an event carries no secret the target's page would mask.

Features emit; `opsconsole.integrations` (webhooks, the ServiceNow preset, notification
channels) subscribes. Neither imports the other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone

if TYPE_CHECKING:
    from opsconsole.audit.log import Actor

VERSION = 1

# Every type an action or the alert lifecycle may emit; `emit` refuses any other, so a typo
# cannot create an event nobody can subscribe to. Name: <target type>.<what happened>.
EVENT_TYPES: Mapping[str, str] = {
    "saga.failed": "A saga's execution failed without a clean unwind.",
    "saga.compensated": "A saga failed and its compensation completed.",
    "saga.needs_review": "A saga was parked for a person to look at.",
    "saga.redriven": "An operator redrove a saga's execution from its failed step.",
    "saga.restarted": "An operator started a saga again as a new execution.",
    "saga.stopped": "An operator stopped a running saga.",
    "saga.resolved": "An operator marked a failed saga as resolved by hand.",
    "saga.ticket_linked": "A ticket was linked to a saga.",
    "approval.requested": "A saga is waiting for a person's approval.",
    "approval.decided": "An approval request was approved or rejected.",
    "alert.firing": "An alert started firing.",
    "alert.resolved": "A firing alert resolved.",
    "alert.acknowledged": "A person acknowledged a firing alert.",
    "dlq.messages_redriven": "Dead-lettered messages were sent back to their source.",
    "dlq.messages_deleted": "Dead-lettered messages were deleted.",
    "replay.finished": "An archive replay finished, failed or was cancelled.",
    "job.finished": "A bulk recovery job finished, failed or was cancelled.",
}


@dataclass(frozen=True)
class Target:
    """What an event is about, by reference."""

    type: str  # saga | approval | alert | dlq | replay | job ...
    id: str
    label: str = ""
    url: str = ""  # the path of its page; integrations make it absolute


@dataclass(frozen=True)
class DomainEvent:
    type: str
    target: Target
    actor: dict[str, str]
    correlation_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: datetime = field(default_factory=timezone.now)
    version: int = VERSION

    def envelope(self) -> dict[str, Any]:
        """The JSON document consumers receive (times in RFC 3339 UTC with Z)."""
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "correlation_id": self.correlation_id,
            "actor": dict(self.actor),
            "target": asdict(self.target),
            "data": dict(self.data),
        }


Handler = Callable[[DomainEvent], None]

_subscribers: dict[str, tuple[Handler, frozenset[str] | None]] = {}


def subscribe(name: str, handler: Handler, types: Iterable[str] | None = None) -> None:
    """Call `handler` for each emitted event of `types` (all when None), keyed by name so a
    second `ready()` replaces instead of doubling."""
    wanted = frozenset(types) if types is not None else None
    unknown = (wanted or frozenset()) - set(EVENT_TYPES)
    if unknown:
        raise ValueError(f"unknown event types: {sorted(unknown)}")
    _subscribers[name] = (handler, wanted)


def unsubscribe(name: str) -> None:
    _subscribers.pop(name, None)


def _actor_dict(actor: Actor | None) -> dict[str, str]:
    if actor is None:
        return {"type": "system", "id": "opsconsole"}
    return {"type": actor.type, "id": actor.id, "role": actor.role}


def emit(
    type: str,
    *,
    target: Target,
    actor: Actor | None = None,
    correlation_id: str = "",
    data: Mapping[str, Any] | None = None,
) -> DomainEvent:
    """Tell every subscriber, inside the caller's transaction, that `type` happened."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    event = DomainEvent(
        type=type,
        target=target,
        actor=_actor_dict(actor),
        correlation_id=correlation_id,
        data=dict(data or {}),
    )
    for handler, wanted in list(_subscribers.values()):
        if wanted is None or type in wanted:
            handler(event)
    return event
