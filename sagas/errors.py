"""The sagas feature's domain errors and how they read (registered from SagasConfig.ready())."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsconsole.errors import DomainError
from opsconsole.web.problems import ErrorSpec


class AmbiguousSagaRef(DomainError):
    """`<kind>:<business key>` names several executions (a restarted order): the caller must
    choose one by console id or execution ARN instead of getting the newest silently.
    Params: `reference`, `candidates` (what a caller can choose from)."""

    code = "saga.ambiguous_ref"


def _ambiguous(params: Mapping[str, Any]) -> str:
    ids = ", ".join(str(c["id"]) for c in params.get("candidates", []))
    return (
        f"{params.get('reference', 'This reference')} matches several sagas ({ids}); "
        "use the console id or the execution ARN of the one you mean."
    )


class InvalidTicket(DomainError):
    """A ticket number to link that is empty, too long or has characters a ticket number
    never has. Params: `number`, `field`."""

    code = "saga.invalid_ticket"


class NotAnOperator(DomainError):
    """Linking a ticket to a saga needs the operator role (or admin). Params: `role`."""

    code = "saga.not_an_operator"


ERRORS = {
    AmbiguousSagaRef.code: ErrorSpec(409, "Ambiguous saga reference", _ambiguous),
    InvalidTicket.code: ErrorSpec(
        400,
        "Invalid ticket number",
        "A ticket number is 1 to 64 letters, digits and . _ - : / # (no spaces).",
    ),
    NotAnOperator.code: ErrorSpec(
        403, "Not an operator", "Only operators and admins may link tickets to sagas."
    ),
}
