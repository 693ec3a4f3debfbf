"""Writing audit records: `record` for one-shot facts, `attempt` for intent then outcome.

The actor is a value the caller passes: this module knows nothing of identity (requests,
users, roles), so identity can record its own refusals through it without an import cycle.
Building the actor of a request is `opsconsole.identity.roles.actor_for`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypedDict

from opsconsole.middleware import current_request_id

from .models import AuditEvent

if TYPE_CHECKING:
    from typing_extensions import Unpack


@dataclass(frozen=True)
class Actor:
    """Who acted: a staff user, a service-account token, or the console itself."""

    type: str  # user | token | system
    id: str
    sub: str = ""
    role: str = ""

    @classmethod
    def system(cls, name: str = "opsconsole") -> Actor:
        return cls(type="system", id=name)


class Context(TypedDict, total=False):
    """What a record says besides who did what to which target; all of it optional."""

    ticket: str
    reason: str
    correlation_id: str
    details: dict[str, Any] | None


@dataclass
class Attempt:
    """An action in progress; `succeeded`/`failed`/`refused` write its outcome record."""

    # Every field but `outcome` is a column of each record the attempt writes.
    attempt_id: uuid.UUID
    actor: Actor
    action: str
    target_type: str
    target_id: str
    ticket: str = ""
    reason: str = ""
    correlation_id: str = ""
    details: dict[str, Any] | None = None
    outcome: str | None = None

    def _write(
        self, result: str, error: str = "", details: dict[str, Any] | None = None
    ) -> AuditEvent:
        self.outcome = result
        columns = {f.name: getattr(self, f.name) for f in fields(self)}
        del columns["actor"], columns["outcome"]
        columns["details"] = {**(self.details or {}), **(details or {})}
        return AuditEvent.objects.create(
            **columns,
            actor_type=self.actor.type,
            actor=self.actor.id,
            actor_sub=self.actor.sub,
            actor_role=self.actor.role,
            request_id=current_request_id() if current_request_id() != "-" else "",
            result=result,
            error=error,
        )

    def succeeded(self, **details: Any) -> None:
        self._write(AuditEvent.SUCCEEDED, details=details)

    def failed(self, error: str, **details: Any) -> None:
        self._write(AuditEvent.FAILED, error=error, details=details)

    def refused(self, error: str, **details: Any) -> None:
        self._write(AuditEvent.REFUSED, error=error, details=details)


def record(
    actor: Actor,
    action: str,
    *,
    result: str,
    target_type: str = "",
    target_id: str = "",
    error: str = "",
    **context: Unpack[Context],
) -> AuditEvent:
    """Write one complete record (a refusal, a sign-in, a fact with no separate outcome)."""
    once = Attempt(uuid.uuid4(), actor, action, target_type, target_id, **context)
    return once._write(result, error)


@contextmanager
def attempt(
    actor: Actor, action: str, *, target_type: str, target_id: str, **context: Unpack[Context]
) -> Iterator[Attempt]:
    """Record intent now and the outcome when the block ends (failed if it raised)."""
    current = Attempt(uuid.uuid4(), actor, action, target_type, target_id, **context)
    current._write(AuditEvent.STARTED)
    current.outcome = None
    try:
        yield current
    except Exception as exc:
        if current.outcome is None:
            current.failed(f"{type(exc).__name__}: {exc}")
        raise
    if current.outcome is None:
        current.succeeded()
