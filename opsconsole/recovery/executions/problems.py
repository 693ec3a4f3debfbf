"""How the execution recovery codes read, and the HTTP status each answers with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsconsole.web.problems import ErrorSpec

from . import errors as e


def _invalid(params: Mapping[str, Any]) -> str:
    problem = params.get("problem")
    if problem == "not_json":
        return f"The corrected input is not valid JSON: {params.get('detail', '')}"
    if problem == "too_large":
        return (
            f"The corrected input is {params.get('size', 0):,} bytes; Step Functions takes "
            f"at most {params.get('limit', 0):,} (256 KB)."
        )
    if problem == "reason_required":
        return f"Say why: a {params.get('what', 'reason')} is required."
    if problem == "ticket_too_long":
        return f"A ticket reference is at most {params.get('limit')} characters."
    if problem == "too_long":
        return f"At most {params.get('limit')} characters."
    if problem == "filter":
        return f"The filter is not valid: {params.get('detail', '')}"
    return "The input is not valid."


ERROR_SPECS: dict[str, ErrorSpec] = {
    e.RecoveryError.code: ErrorSpec(400, "Recovery refused", "This recovery action was refused."),
    e.SagaNotFound.code: ErrorSpec(404, "Saga not found", "No such saga."),
    e.NotAnOperator.code: ErrorSpec(
        403, "Not an operator", "Only operators and admins may recover sagas."
    ),
    e.InvalidRecoveryInput.code: ErrorSpec(400, "Invalid input", _invalid),
    e.NotEligible.code: ErrorSpec(409, "Not possible for this saga", "{why}"),
    e.AlreadyInProgress.code: ErrorSpec(
        409,
        "Already being done",
        "{by} already started this {action} a moment ago; it is done once.",
    ),
    e.RefusedByAws.code: ErrorSpec(409, "AWS refused", "{detail}"),
}
