"""The status a person reads, derived from Step Functions and the business item. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .models import SagaStatus

# Business statuses (DynamoDB META item) that mean "undone on purpose".
_COMPENSATED_WORDS = ("COMPENSATED", "CANCELLED", "CANCELED", "ROLLED_BACK", "REFUNDED")
_NEEDS_REVIEW_WORDS = ("NEEDS_REVIEW", "NEEDS-REVIEW", "REVIEW", "MANUAL_REVIEW")


def _norm(value: str | None) -> str:
    return (value or "").strip().upper().replace(" ", "_")


def business_says_compensated(business_status: str | None) -> bool:
    value = _norm(business_status)
    return any(word in value for word in _COMPENSATED_WORDS)


def business_says_needs_review(business_status: str | None) -> bool:
    value = _norm(business_status)
    return value in _NEEDS_REVIEW_WORDS or "NEEDS_REVIEW" in value


@dataclass(frozen=True)
class StatusInputs:
    """Everything the derivation looks at (all of it already in the read model)."""

    sfn_status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE
    business_status: str = ""
    current_step: str = ""
    callback_pending: bool = False  # a waitForTaskToken step was submitted and not answered
    compensation_ran: bool = False  # a registry compensation step was entered
    compensation_failed: bool = False  # and one of them failed
    approval_steps: frozenset[str] = frozenset()
    error: str = ""  # the execution's error name, when it failed


def error_is_timeout(error: str | None) -> bool:
    """A wait that ran out (States.Timeout, a callback's TaskTimedOut, a state machine's own
    "...TimedOut" Fail state after a timeout was caught)."""
    value = (error or "").strip()
    return value in ("States.Timeout", "States.HeartbeatTimeout") or value.endswith("TimedOut")


def derive_status(inputs: StatusInputs) -> SagaStatus:
    """Running, waiting for approval, succeeded, compensated, needs review, failed, timed
    out or aborted: what the saga means for the business, not only what the engine says."""
    sfn = _norm(inputs.sfn_status)
    business = inputs.business_status
    if sfn in ("RUNNING", "PENDING_REDRIVE", ""):
        if inputs.callback_pending or inputs.current_step in inputs.approval_steps:
            return SagaStatus.WAITING
        return SagaStatus.RUNNING
    if sfn == "ABORTED":
        return SagaStatus.ABORTED
    # Whatever the item or the engine say next (a parked NEEDS_REVIEW, a Fail state), an
    # unwinding that broke off is what a person must see first.
    if inputs.compensation_failed:
        return SagaStatus.COMPENSATION_FAILED
    # A step that exhausted its retries parks the saga for a person: that is the designed
    # outcome whatever the engine ended with.
    if business_says_needs_review(business):
        return SagaStatus.NEEDS_REVIEW
    if sfn == "TIMED_OUT" or (sfn == "FAILED" and error_is_timeout(inputs.error)):
        # A caught timeout may also have unwound the saga; what a person needs first is
        # that nobody answered in time.
        return SagaStatus.TIMED_OUT
    if business_says_compensated(business):
        return SagaStatus.COMPENSATED
    if inputs.compensation_ran and (not _norm(business) or sfn == "SUCCEEDED"):
        # The history shows the unwinding and nothing in the business item contradicts it
        # (it is unreadable, or the engine ended the compensation path normally).
        return SagaStatus.COMPENSATED
    if sfn == "SUCCEEDED":
        return SagaStatus.SUCCEEDED
    return SagaStatus.FAILED
