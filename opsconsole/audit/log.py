"""Writing audit records: `record` for one-shot facts, `attempt` for intent then outcome.

The actor is a value the caller passes: this module knows nothing of identity (requests,
users, roles), so identity can record its own refusals through it without an import cycle.
Building the actor of a request is `opsconsole.identity.roles.actor_for`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opsconsole.middleware import current_request_id

from .models import AuditEvent


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


@dataclass
class Attempt:
    """An action in progress; `succeeded`/`failed`/`refused` write its outcome record."""

    attempt_id: uuid.UUID
    actor: Actor
    action: str
    target_type: str
    target_id: str
    ticket: str = ""
    reason: str = ""
    correlation_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    outcome: str | None = None

    def _write(self, result: str, error: str = "", details: dict[str, Any] | None = None) -> None:
        self.outcome = result
        _create(
            attempt_id=self.attempt_id,
            actor=self.actor,
            action=self.action,
            target_type=self.target_type,
            target_id=self.target_id,
            ticket=self.ticket,
            reason=self.reason,
            correlation_id=self.correlation_id,
            result=result,
            error=error,
            details={**self.details, **(details or {})},
        )

    def succeeded(self, **details: Any) -> None:
        self._write(AuditEvent.SUCCEEDED, details=details)

    def failed(self, error: str, **details: Any) -> None:
        self._write(AuditEvent.FAILED, error=error, details=details)

    def refused(self, error: str, **details: Any) -> None:
        self._write(AuditEvent.REFUSED, error=error, details=details)


def _create(*, actor: Actor, **fields: Any) -> AuditEvent:
    return AuditEvent.objects.create(
        actor_type=actor.type,
        actor=actor.id,
        actor_sub=actor.sub,
        actor_role=actor.role,
        request_id=current_request_id() if current_request_id() != "-" else "",
        **fields,
    )


def record(
    actor: Actor,
    action: str,
    *,
    result: str,
    target_type: str = "",
    target_id: str = "",
    ticket: str = "",
    reason: str = "",
    correlation_id: str = "",
    error: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one complete record (a refusal, a sign-in, a fact with no separate outcome)."""
    return _create(
        attempt_id=uuid.uuid4(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ticket=ticket,
        reason=reason,
        correlation_id=correlation_id,
        result=result,
        error=error,
        details=details or {},
    )


@contextmanager
def attempt(
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: str,
    ticket: str = "",
    reason: str = "",
    correlation_id: str = "",
    details: dict[str, Any] | None = None,
) -> Iterator[Attempt]:
    """Record intent now and the outcome when the block ends (failed if it raised)."""
    current = Attempt(
        attempt_id=uuid.uuid4(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ticket=ticket,
        reason=reason,
        correlation_id=correlation_id,
        details=dict(details or {}),
    )
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
