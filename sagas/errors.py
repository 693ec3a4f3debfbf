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


ERRORS = {
    AmbiguousSagaRef.code: ErrorSpec(409, "Ambiguous saga reference", _ambiguous),
}
