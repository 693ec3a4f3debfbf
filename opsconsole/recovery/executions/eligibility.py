"""What can be done to a saga, and why not: pure functions of the read model (and, for a
redrive preview, of what DescribeExecution and the history tail say). No I/O here, so the bulk
dry run can judge 10,000 sagas from one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

REDRIVABLE_SFN = ("FAILED", "TIMED_OUT", "ABORTED")
REDRIVE_PERIOD = timedelta(days=14)
HISTORY_LIMIT = 25_000
# Statuses meaning a Catch routed the failure through compensation to a Fail state: a
# redrive resumes at that Fail state and fails again. A saga parked for review is not one
# of them by itself: a parked saga whose step then gave up uncaught (charged, not shipped)
# is redriven at that step; one parked after its compensation broke off has
# `compensation_ran`, and the live check (redrive preview) finds any Fail state.
CAUGHT_STATUSES = ("compensated",)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    why: str = ""  # why not, in words, when not allowed


OK = Verdict(True)


@dataclass(frozen=True)
class SagaFacts:
    """What the judgement needs from a saga row (and what recovery already did to it)."""

    status: str
    sfn_status: str
    stopped_at: datetime | None
    compensation_ran: bool = False
    resolved: bool = False
    open_action: str = ""  # an action on it still being sent or verified ("redrive" ...)
    restarted_as: str = ""  # the execution name it was restarted as, if it was
    recovered_by: str = ""  # "redrive #2" when a verified redrive recovered it


def _already_handled(f: SagaFacts) -> Verdict | None:
    """Why nothing more is to be done to the saga (resolved, being acted on, recovered)."""
    if f.resolved:
        return Verdict(False, "It was marked resolved by hand.")
    if f.open_action:
        return Verdict(False, f"A {f.open_action} of it is still in progress.")
    if f.recovered_by:
        return Verdict(False, f"It was recovered by {f.recovered_by}.")
    return None


def can_redrive(f: SagaFacts, now: datetime) -> Verdict:
    if (handled := _already_handled(f)) is not None:
        return handled
    if f.sfn_status not in REDRIVABLE_SFN:
        return Verdict(
            False,
            f"Its execution is {f.sfn_status or 'unknown'}: only failed, timed-out or "
            "aborted executions can be redriven.",
        )
    if f.stopped_at is not None and now - f.stopped_at > REDRIVE_PERIOD:
        return Verdict(False, "It ended more than 14 days ago: AWS no longer redrives it.")
    if f.status in CAUGHT_STATUSES or (f.compensation_ran and f.sfn_status == "FAILED"):
        return Verdict(
            False,
            "Its error was caught and it ended in a Fail state after "
            f"{'compensating' if f.status == 'compensated' else 'unwinding or parking'}: a "
            "redrive would run that Fail state again and fail again. Fix the cause and "
            "restart it instead.",
        )
    return OK


def fail_state_raising(definition: dict[str, Any] | None, error: str) -> str | None:
    """The top-level Fail state of `definition` that raises `error` (None: none does, or
    the definition is unknown): an execution that failed with it ended there."""
    if not definition or not error:
        return None
    for name, state in (definition.get("States") or {}).items():
        if isinstance(state, dict) and state.get("Type") == "Fail" and state.get("Error") == error:
            return str(name)
    return None


def redrive_in_panel(f: SagaFacts, now: datetime, definition: Any, error: str) -> Verdict:
    """The read model's verdict, then the definition the case page already read: a saga
    whose error is the one a Fail state raises ended in that Fail state after its error was
    caught (AWS still calls it REDRIVABLE, but a redrive would only fail there again)."""
    verdict = can_redrive(f, now)
    if not verdict.allowed or f.sfn_status != "FAILED":
        return verdict
    fail_state = fail_state_raising(definition, error)
    if fail_state is None:
        return verdict
    return Verdict(
        False,
        f"It ended in the Fail state {fail_state} after its error was caught: a redrive "
        "would run that state again and fail again. Fix the cause and restart it instead.",
    )


def can_restart(f: SagaFacts) -> Verdict:
    if (handled := _already_handled(f)) is not None:
        return handled
    if f.restarted_as:
        return Verdict(
            False, f"It was already restarted as {f.restarted_as}: restart that run instead."
        )
    if f.sfn_status in ("RUNNING", "PENDING_REDRIVE", ""):
        return Verdict(False, "It is still running: stop it first.")
    if f.sfn_status == "SUCCEEDED" and f.status == "succeeded":
        return Verdict(False, "It succeeded: there is nothing to restart.")
    return OK


def can_stop(f: SagaFacts) -> Verdict:
    if f.sfn_status not in ("RUNNING", "PENDING_REDRIVE"):
        return Verdict(False, f"It is not running (its execution is {f.sfn_status}).")
    if f.open_action == "stop":
        return Verdict(False, "A stop of it is already in progress.")
    return OK


def can_resolve(f: SagaFacts) -> Verdict:
    if f.resolved:
        return Verdict(False, "It is already marked resolved.")
    if f.sfn_status in ("RUNNING", "PENDING_REDRIVE", ""):
        return Verdict(False, "It is still running: stop it or let it finish first.")
    if f.status == "succeeded":
        return Verdict(False, "It succeeded: there is nothing to resolve.")
    return OK


@dataclass(frozen=True)
class ResumePoint:
    """Where a redrive would resume, as AWS will pick it from the history."""

    state: str
    state_type: str  # Task, Fail, Wait, Parallel, Map ...

    @property
    def is_fail_state(self) -> bool:
        return self.state_type == "Fail"


def resume_point(events: list[Any], top_level: dict[str, str]) -> ResumePoint | None:
    """The top-level state entered last and never exited (events oldest first, each with
    `.type` and `.details`); `top_level` maps state names to their types."""
    found: ResumePoint | None = None
    for event in events:
        if event.type.endswith("StateEntered"):
            name = event.details.get("name", "")
            if name in top_level:
                found = ResumePoint(name, top_level[name])
        elif (
            event.type.endswith("StateExited")
            and found is not None
            and event.details.get("name") == found.state
        ):
            found = None
    return found


def live_redrive_verdict(
    redrive_status: str | None, redrive_reason: str | None, point: ResumePoint | None
) -> Verdict:
    """What AWS says now (DescribeExecution's redriveStatus) and where it would resume."""
    if redrive_status and redrive_status != "REDRIVABLE":
        reason = (redrive_reason or "").rstrip(".")
        return Verdict(False, f"AWS says it is not redrivable: {reason or redrive_status}.")
    if point is not None and point.is_fail_state:
        return Verdict(
            False,
            f"It ended in the Fail state {point.state} after its error was caught: a redrive "
            "would run that state again and fail again. Fix the cause and restart it instead.",
        )
    return OK
