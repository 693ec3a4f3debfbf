"""The timeline of one execution, built from its history events. Pure: no I/O, no database.

One `StateVisit` per state entered, with its attempts (retries and their errors), how it
ended (succeeded, retried, caught and where that led, failed, waiting on a callback...),
its Parallel branch, and whether it is a compensation step. `gantt` turns a timeline into
the geometry of the server-rendered picture.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from opsconsole.aws.stepfunctions import HistoryEvent
from opsconsole.web.formatting import human_duration

# Outcomes of a state visit, as a person reads them.
SUCCEEDED = "succeeded"
RETRIED = "retried"  # succeeded after failed attempts
CAUGHT = "caught"  # failed, and a Catch sent the saga elsewhere
FAILED = "failed"
TIMED_OUT = "timed_out"
ABORTED = "aborted"
RUNNING = "running"
WAITING = "waiting"  # a callback (waitForTaskToken) is pending

OUTCOME_LABELS = {
    SUCCEEDED: "succeeded",
    RETRIED: "succeeded after retries",
    CAUGHT: "failed, caught",
    FAILED: "failed",
    TIMED_OUT: "timed out",
    ABORTED: "aborted",
    RUNNING: "running",
    WAITING: "waiting for callback",
}

_TASK_FAIL_TYPES = {
    "TaskFailed",
    "TaskTimedOut",
    "TaskStartFailed",
    "TaskSubmitFailed",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
    "ActivityFailed",
    "ActivityTimedOut",
    "ActivityScheduleFailed",
}
_TASK_SCHEDULE_TYPES = {"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"}
_TASK_SUCCESS_TYPES = {"TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded"}
_BRANCH_OPENERS = {"ParallelStateStarted", "MapIterationStarted"}
_CONTAINER_CLOSERS = {
    "ParallelStateSucceeded",
    "ParallelStateFailed",
    "ParallelStateAborted",
    "MapStateSucceeded",
    "MapStateFailed",
    "MapStateAborted",
}
_EXECUTION_END = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


@dataclass(frozen=True)
class TimelineRules:
    """What the registry says about a kind's states (so the timeline can label them)."""

    compensation_steps: frozenset[str] = frozenset()
    approval_steps: frozenset[str] = frozenset()
    notification_steps: frozenset[str] = frozenset()
    step_sla_seconds: Mapping[str, int] = field(default_factory=dict)
    default_step_sla_seconds: int | None = None
    # Deadline of a callback wait when the history does not carry the task's timeout.
    callback_timeout_seconds: int | None = None
    # Every step name the registry knows (forward, compensation, approval).
    known_steps: frozenset[str] = frozenset()

    def sla_for(self, step: str) -> int | None:
        return self.step_sla_seconds.get(step, self.default_step_sla_seconds)


@dataclass(frozen=True)
class Attempt:
    number: int
    scheduled_at: datetime
    ended_at: datetime | None
    outcome: str  # succeeded | failed | timed_out | running | waiting
    error: str = ""
    cause: str = ""


@dataclass(frozen=True)
class StateVisit:
    index: int
    name: str
    state_type: str  # Task, Parallel, Choice, Pass, Wait, Succeed, Fail, Map
    entered_at: datetime
    exited_at: datetime | None
    outcome: str
    attempts: tuple[Attempt, ...] = ()
    error: str = ""
    cause: str = ""
    caught_to: str = ""
    lane: tuple[tuple[int, int], ...] = ()  # (parallel visit index, branch number) path
    branch_label: str = ""
    is_compensation: bool = False
    is_approval: bool = False
    is_notification: bool = False
    callback: bool = False
    deadline: datetime | None = None
    resource: str = ""
    input: str | None = None
    output: str | None = None
    parameters: str | None = None
    sla_seconds: int | None = None
    # For a Parallel or Map: the visits of each branch, side by side.
    branches: tuple[tuple[int, ...], ...] = ()

    @property
    def depth(self) -> int:
        return len(self.lane)

    @property
    def retries(self) -> int:
        return max(len(self.attempts) - 1, 0)

    @property
    def failed_attempts(self) -> tuple[Attempt, ...]:
        return tuple(a for a in self.attempts if a.outcome in (FAILED, TIMED_OUT))

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS.get(self.outcome, self.outcome)

    @property
    def is_open(self) -> bool:
        return self.exited_at is None and self.outcome in (RUNNING, WAITING)

    def duration(self, now: datetime | None = None) -> timedelta | None:
        end = self.exited_at or now
        return None if end is None else max(end - self.entered_at, timedelta(0))

    def over_sla(self, now: datetime | None = None) -> bool:
        spent = self.duration(now)
        return bool(self.sla_seconds and spent and spent.total_seconds() > self.sla_seconds)


@dataclass(frozen=True)
class Timeline:
    visits: tuple[StateVisit, ...]
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    started_at: datetime | None
    ended_at: datetime | None
    input: str | None = None
    output: str | None = None
    error: str = ""
    cause: str = ""
    event_count: int = 0
    last_event_id: int = 0

    @property
    def is_running(self) -> bool:
        return self.status == "RUNNING"

    @property
    def open_visits(self) -> tuple[StateVisit, ...]:
        return tuple(v for v in self.visits if v.is_open)

    @property
    def current(self) -> StateVisit | None:
        """The innermost, latest state still running (None once the execution ended)."""
        if not self.is_running:
            return None
        open_visits = [v for v in self.open_visits if v.state_type not in ("Parallel", "Map")]
        if not open_visits:
            open_visits = list(self.open_visits)
        return open_visits[-1] if open_visits else None

    @property
    def last_visit(self) -> StateVisit | None:
        return self.visits[-1] if self.visits else None

    @property
    def callback_pending(self) -> bool:
        return self.is_running and any(v.outcome == WAITING for v in self.visits)

    @property
    def compensation_visits(self) -> tuple[StateVisit, ...]:
        return tuple(v for v in self.visits if v.is_compensation)

    @property
    def compensation_ran(self) -> bool:
        return bool(self.compensation_visits)

    @property
    def notification_visits(self) -> tuple[StateVisit, ...]:
        return tuple(v for v in self.visits if v.is_notification)

    @property
    def failed_compensation(self) -> StateVisit | None:
        """The compensation step that itself failed: the unwinding broke off, and whatever
        that step should have undone is still done. An error caught into the next
        compensation step is "nothing to undo here" (a release of stock never reserved),
        and one handled inside a Map or Parallel that then succeeded is not a failure."""
        for v in self.compensation_visits:
            if v.lane or v.state_type == "Fail":
                continue
            if v.outcome in (FAILED, TIMED_OUT):
                return v
            if v.outcome == CAUGHT:
                went_to = next(
                    (w for w in self.visits[v.index + 1 :] if w.name == v.caught_to and not w.lane),
                    None,
                )
                if went_to is None or not went_to.is_compensation:
                    return v
        return None

    @property
    def steps_run(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.visits)

    @property
    def retried_visits(self) -> tuple[StateVisit, ...]:
        return tuple(v for v in self.visits if v.retries)

    @property
    def caught_visits(self) -> tuple[StateVisit, ...]:
        return tuple(v for v in self.visits if v.outcome == CAUGHT)

    @property
    def failure(self) -> StateVisit | None:
        """Where the saga went wrong: the step whose error sent it to compensation or ended
        it. None for a saga that ran forward to the end."""
        if self.status == "SUCCEEDED" and not self.compensation_ran:
            return None
        first_compensation = next(
            (v.index for v in self.visits if v.is_compensation), len(self.visits)
        )
        before = [v for v in self.visits if v.index < first_compensation]
        for outcomes in ((FAILED, TIMED_OUT), (CAUGHT,)):
            hits = [v for v in before if v.outcome in outcomes and v.state_type != "Fail"]
            if hits:
                return hits[-1]
        fails = [v for v in self.visits if v.state_type == "Fail"]
        if fails:
            return fails[-1]
        hits = [v for v in self.visits if v.outcome in (FAILED, TIMED_OUT, CAUGHT, ABORTED)]
        return hits[-1] if hits else None

    def visit(self, name: str) -> StateVisit | None:
        """The latest visit of the state called `name`."""
        found = [v for v in self.visits if v.name == name]
        return found[-1] if found else None

    def summary(self) -> str:
        """One sentence: how it ended, where it failed and why, what was undone."""
        words = {
            "RUNNING": "Running",
            "SUCCEEDED": "Succeeded",
            "FAILED": "Failed",
            "TIMED_OUT": "Timed out",
            "ABORTED": "Aborted",
        }
        parts = [words.get(self.status, self.status.title())]
        failure = self.failure
        if failure is not None:
            why = failure.error or self.error
            where = failure.name
            if failure.lane:
                where = f"{self.visits[failure.lane[-1][0]].name} › {where}"
            parts.append(f"failed in {where}" + (f" ({why})" if why else ""))
        broken = self.failed_compensation
        if self.compensation_ran:
            done = [
                v.name
                for v in self.compensation_visits
                if not v.lane
                and v.outcome in (SUCCEEDED, RETRIED)
                and (broken is None or v.name != broken.name)
            ]
            if broken is not None:
                why = f" ({broken.error})" if broken.error else ""
                parts.append(f"compensation failed in {broken.name}{why}")
                if done:
                    parts.append(f"undone before it: {', '.join(dict.fromkeys(done))}")
            elif done:
                parts.append(f"compensated: {', '.join(dict.fromkeys(done))}")
        notified = [v.name for v in self.notification_visits if not v.lane]
        if notified:
            parts.append(f"notified: {', '.join(dict.fromkeys(notified))}")
        current = self.current
        if current is not None:
            parts.append(f"now in {current.name}")
        return "; ".join(parts)


@dataclass
class _Open:
    index: int
    name: str
    state_type: str
    entered_at: datetime
    lane: tuple[tuple[int, int], ...]
    input: str | None
    entered_id: int
    exited_at: datetime | None = None
    exited_id: int | None = None
    output: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    closed_as: str | None = None  # outcome forced by the end of a container or execution
    container_failed: bool = False
    fail_error: str = ""
    fail_cause: str = ""
    branches: dict[int, list[int]] = field(default_factory=dict)
    parameters: str | None = None
    resource: str = ""
    timeout_seconds: int | None = None


def _state_type(event_type: str, suffix: str) -> str:
    return event_type[: -len(suffix)] if event_type.endswith(suffix) else event_type


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def build_timeline(events: Iterable[HistoryEvent], rules: TimelineRules | None = None) -> Timeline:
    """The timeline of an execution from its history events (any order; a tail works too)."""
    rules = rules or TimelineRules()
    ordered = sorted(events, key=lambda e: e.id)
    by_id = {e.id: e for e in ordered}
    visits: list[_Open] = []
    visit_of: dict[int, int | None] = {}  # event id -> visit index it belongs to
    lane_of: dict[int, tuple[tuple[int, int], ...]] = {}
    branch_counter: dict[int, int] = {}  # container visit index -> branches opened
    status = "RUNNING"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    exec_input: str | None = None
    exec_output: str | None = None
    exec_error = exec_cause = ""

    def open_by_name(name: str, hint: int | None) -> _Open | None:
        if hint is not None and visits[hint].name == name and visits[hint].exited_at is None:
            return visits[hint]
        for v in reversed(visits):
            if v.name == name and v.exited_at is None and v.closed_as is None:
                return v
        return None

    def innermost_container(lane: tuple[tuple[int, int], ...]) -> _Open | None:
        for container_index, _ in reversed(lane):
            v = visits[container_index]
            if v.exited_at is None and v.closed_as is None:
                return v
        return None

    def close_descendants(container: _Open, at: datetime, outcome: str) -> None:
        for v in visits:
            if (
                v.exited_at is None
                and v.closed_as is None
                and any(ci == container.index for ci, _ in v.lane)
            ):
                v.closed_as = outcome
                v.exited_at = at

    for e in ordered:
        d = e.details or {}
        prev = e.previous_event_id
        prev_event = by_id.get(prev)
        lane = lane_of.get(prev, ())
        owner = visit_of.get(prev)
        t = e.type

        if t == "ExecutionStarted":
            started_at = e.timestamp
            exec_input = d.get("input")
            lane_of[e.id], visit_of[e.id] = (), None
            continue
        if t == "ExecutionRedriven":
            # RedriveExecution: the same execution runs again from its failed state, its
            # history continued; what ended it before no longer holds.
            status, ended_at, exec_error, exec_cause = "RUNNING", None, "", ""
            lane_of[e.id], visit_of[e.id] = (), None
            continue
        if t in _EXECUTION_END:
            status = _EXECUTION_END[t]
            ended_at = e.timestamp
            exec_output = d.get("output", exec_output)
            exec_error = str(d.get("error") or "")
            exec_cause = str(d.get("cause") or "")
            lane_of[e.id], visit_of[e.id] = lane, owner
            continue

        if t.endswith("StateEntered"):
            if prev_event is not None and prev_event.type in _BRANCH_OPENERS:
                container = visit_of.get(prev)
                if container is not None:
                    if prev_event.type == "MapIterationStarted":
                        number = (_int(prev_event.details.get("index")) or 0) + 1
                    else:
                        branch_counter[container] = branch_counter.get(container, 0) + 1
                        number = branch_counter[container]
                    lane = (*lane, (container, number))
                    visits[container].branches.setdefault(number, [])
            v = _Open(
                index=len(visits),
                name=str(d.get("name", "?")),
                state_type=_state_type(t, "StateEntered"),
                entered_at=e.timestamp,
                lane=lane,
                input=d.get("input"),
                entered_id=e.id,
            )
            visits.append(v)
            if lane:
                container_index, number = lane[-1]
                visits[container_index].branches.setdefault(number, []).append(v.index)
            visit_of[e.id], lane_of[e.id] = v.index, lane
            continue

        if t.endswith("StateExited"):
            name = str(d.get("name", "?"))
            exited = open_by_name(name, owner)
            if exited is None:  # a tail of history: its entry is older than what we read
                visit_of[e.id], lane_of[e.id] = None, lane
                continue
            exited.exited_at = e.timestamp
            exited.exited_id = e.id
            exited.output = d.get("output")
            if exited.state_type in ("Parallel", "Map"):
                close_descendants(exited, e.timestamp, ABORTED)
            visit_of[e.id], lane_of[e.id] = exited.index, exited.lane
            continue

        if t in _CONTAINER_CLOSERS:
            closing = innermost_container(lane)
            if closing is None and owner is not None:
                closing = visits[owner]
            if closing is not None:
                failed = not t.endswith("Succeeded")
                closing.container_failed = failed
                if failed:
                    close_descendants(closing, e.timestamp, FAILED)
                    closing.fail_error = str(d.get("error") or "")
                    closing.fail_cause = str(d.get("cause") or "")
                visit_of[e.id], lane_of[e.id] = closing.index, closing.lane
            else:
                visit_of[e.id], lane_of[e.id] = owner, lane
            continue

        if t in _BRANCH_OPENERS:
            # A Map iteration starts after the previous iteration's last event: it belongs to
            # the Map it names, not to the step before it.
            container_visit = open_by_name(str(d.get("name")), None) if d.get("name") else None
            if container_visit is not None and container_visit.state_type in ("Map", "Parallel"):
                visit_of[e.id], lane_of[e.id] = container_visit.index, container_visit.lane
            else:
                visit_of[e.id], lane_of[e.id] = owner, lane
            continue
        # Task, Lambda, Wait... events: they belong to the visit before them.
        visit_of[e.id], lane_of[e.id] = owner, lane
        if owner is None:
            continue
        v = visits[owner]
        if t in _TASK_SCHEDULE_TYPES:
            v.resource = str(d.get("resource") or d.get("resourceType") or v.resource)
            rtype = d.get("resourceType")
            if rtype and d.get("resource"):
                v.resource = f"{rtype}:{d.get('resource')}"
            if v.parameters is None:
                v.parameters = d.get("parameters") or d.get("input")
            v.timeout_seconds = _int(d.get("timeoutInSeconds")) or v.timeout_seconds
            v.attempts.append({"scheduled_at": e.timestamp, "outcome": RUNNING})
        elif t in ("TaskSubmitted",):
            if v.attempts:
                v.attempts[-1]["submitted_at"] = e.timestamp
                if "waitForTaskToken" in v.resource:
                    v.attempts[-1]["outcome"] = WAITING
        elif t in _TASK_SUCCESS_TYPES:
            if v.attempts:
                v.attempts[-1].update(ended_at=e.timestamp, outcome=SUCCEEDED)
        elif t in _TASK_FAIL_TYPES:
            if not v.attempts:
                v.attempts.append({"scheduled_at": e.timestamp})
            v.attempts[-1].update(
                ended_at=e.timestamp,
                outcome=TIMED_OUT if t.endswith("TimedOut") else FAILED,
                error=str(d.get("error") or ("States.Timeout" if t.endswith("TimedOut") else "")),
                cause=str(d.get("cause") or ""),
            )
        elif t in ("WaitStateAborted", "TaskStateAborted", "ParallelStateAborted"):
            v.closed_as = ABORTED

    # Close what the end of the execution left open.
    for v in visits:
        if v.exited_at is None and v.closed_as is None and status != "RUNNING":
            v.closed_as = {"TIMED_OUT": TIMED_OUT, "ABORTED": ABORTED}.get(status, FAILED)
            v.exited_at = ended_at

    # The state each exit led to (for "caught, went to ...").
    next_after_exit: dict[int, str] = {}
    for v in visits:
        entered = by_id.get(v.entered_id)
        if entered is not None and entered.previous_event_id:
            next_after_exit.setdefault(entered.previous_event_id, v.name)

    out: list[StateVisit] = []
    for v in visits:
        attempts = tuple(
            Attempt(
                number=i + 1,
                scheduled_at=a["scheduled_at"],
                ended_at=a.get("ended_at"),
                outcome=a.get("outcome", RUNNING),
                error=a.get("error", ""),
                cause=a.get("cause", ""),
            )
            for i, a in enumerate(v.attempts)
        )
        last = attempts[-1] if attempts else None
        error = cause = ""
        caught_to = ""
        callback = "waitForTaskToken" in v.resource
        if v.closed_as is not None and v.exited_id is None:
            outcome = v.closed_as
            if last is not None and last.outcome in (FAILED, TIMED_OUT):
                outcome = last.outcome
                error, cause = last.error, last.cause
            elif v.state_type == "Fail":
                outcome = FAILED
                error, cause = exec_error, exec_cause
            elif v.container_failed:
                outcome = FAILED
                error, cause = v.fail_error, v.fail_cause
        elif v.exited_id is None:
            outcome = WAITING if (last is not None and last.outcome == WAITING) else RUNNING
        else:
            failed_last = last is not None and last.outcome in (FAILED, TIMED_OUT)
            if failed_last or v.container_failed:
                outcome = CAUGHT
                error = last.error if failed_last and last else v.fail_error
                cause = last.cause if failed_last and last else v.fail_cause
                caught_to = next_after_exit.get(v.exited_id, "")
            elif len(attempts) > 1:
                outcome = RETRIED
            else:
                outcome = SUCCEEDED
        deadline = None
        if callback and last is not None:
            timeout = v.timeout_seconds or rules.callback_timeout_seconds
            if timeout:
                deadline = last.scheduled_at + timedelta(seconds=timeout)
        label = ""
        if v.lane:
            parent = visits[v.lane[-1][0]]
            word = "iteration" if parent.state_type == "Map" else "branch"
            label = f"{parent.name} · {word} {v.lane[-1][1]}"
        # Inside a compensation Map/Parallel, every state is part of the unwinding.
        compensating = v.name in rules.compensation_steps or any(
            out[ci].is_compensation for ci, _ in v.lane if ci < len(out)
        )
        out.append(
            StateVisit(
                index=v.index,
                name=v.name,
                state_type=v.state_type,
                entered_at=v.entered_at,
                exited_at=v.exited_at,
                outcome=outcome,
                attempts=attempts,
                error=error,
                cause=cause,
                caught_to=caught_to,
                lane=v.lane,
                branch_label=label,
                is_compensation=compensating,
                is_approval=v.name in rules.approval_steps,
                is_notification=v.name in rules.notification_steps and not compensating,
                callback=callback,
                deadline=deadline,
                resource=v.resource,
                input=v.input,
                output=v.output,
                parameters=v.parameters,
                sla_seconds=rules.sla_for(v.name),
                branches=tuple(tuple(v.branches[k]) for k in sorted(v.branches)),
            )
        )
    return Timeline(
        visits=tuple(out),
        status=status,
        started_at=started_at or (ordered[0].timestamp if ordered else None),
        ended_at=ended_at,
        input=exec_input,
        output=exec_output,
        error=exec_error,
        cause=exec_cause,
        event_count=len(ordered),
        last_event_id=ordered[-1].id if ordered else 0,
    )


@dataclass(frozen=True)
class Position:
    """Where a running saga is, read from the tail of its history (for the read model)."""

    current_step: str = ""
    step_entered_at: datetime | None = None
    callback_pending: bool = False
    compensation_ran: bool = False
    last_step: str = ""
    failed_step: str = ""
    failed_compensation_step: str = ""


def _named(
    timeline: Timeline, visit: StateVisit | None, known: frozenset[str]
) -> StateVisit | None:
    """`visit`, or the container it runs in when only the container is a step people know
    (a Map iteration's helper states are reported as the Map)."""
    while visit is not None and known and visit.name not in known and visit.lane:
        visit = timeline.visits[visit.lane[-1][0]]
    return visit


def position(timeline: Timeline, known_steps: frozenset[str] = frozenset()) -> Position:
    """The current (or, once ended, the failing or last) step of a timeline, possibly built
    from a history tail; `known_steps` are the registry's names for steps."""
    current = timeline.current
    last = timeline.last_visit
    if current is None and last is not None and timeline.status != "SUCCEEDED":
        step = _named(timeline, timeline.failure or last, known_steps)
    else:
        step = _named(timeline, current, known_steps)
    return Position(
        current_step=step.name if step else "",
        step_entered_at=step.entered_at if step else None,
        callback_pending=timeline.callback_pending,
        compensation_ran=timeline.compensation_ran,
        last_step=last.name if last else "",
        failed_step=(timeline.failure.name if timeline.failure else ""),
        failed_compensation_step=(
            timeline.failed_compensation.name if timeline.failed_compensation else ""
        ),
    )


# --- the picture ----------------------------------------------------------------------


@dataclass(frozen=True)
class GanttBar:
    visit: StateVisit
    y: float
    x: float
    width: float
    css: str
    ticks: tuple[float, ...]  # x of each retried attempt's end
    deadline_x: float | None
    label_x: float
    bar_y: float
    bar_height: float
    text_y: float
    tick_y2: float


@dataclass(frozen=True)
class GanttGap:
    """A stretch of time in which nothing started or ended, drawn narrow and marked."""

    x: float
    width: float
    label: str  # "≈ 23 h idle"
    seconds: float

    @property
    def mid_x(self) -> float:
        return round(self.x + self.width / 2 + 4, 2)


@dataclass(frozen=True)
class Gantt:
    width: int
    height: int
    label_width: int
    row_height: int
    bars: tuple[GanttBar, ...]
    axis: tuple[tuple[float, datetime, str], ...]  # x, the moment there, text-anchor
    now_x: float | None
    gaps: tuple[GanttGap, ...] = ()
    top: int = 0  # the rows start below the axis
    axis_y: int = 0
    rows_height: int = 0


# A stretch with nothing happening longer than this share of the whole (and than a
# minute) is compressed to GAP_WIDTH, so steps after a day-long wait keep their width.
GAP_SHARE = 0.12
GAP_MIN_SECONDS = 60.0
GAP_WIDTH = 28.0
AXIS_HEIGHT = 22


def _segments(
    moments: list[datetime], start: datetime, end: datetime, plot: float
) -> list[tuple[datetime, datetime, float, float, bool]]:
    """The piecewise time scale: (from, to, x0, x1, compressed) covering start..end."""
    span = max((end - start).total_seconds(), 0.001)
    points = sorted({start, end, *(m for m in moments if start <= m <= end)})
    pieces: list[tuple[datetime, datetime, bool]] = []
    for a, b in itertools.pairwise(points):
        seconds = (b - a).total_seconds()
        idle = seconds > max(GAP_MIN_SECONDS, GAP_SHARE * span)
        if pieces and not idle and not pieces[-1][2]:
            pieces[-1] = (pieces[-1][0], b, False)
        else:
            pieces.append((a, b, idle))
    if not pieces:
        pieces = [(start, end, False)]
    idle_n = sum(1 for p in pieces if p[2])
    gap_width = min(GAP_WIDTH, plot * 0.5 / max(idle_n, 1)) if idle_n else 0.0
    busy = sum((b - a).total_seconds() for a, b, idle in pieces if not idle) or 0.001
    busy_plot = plot - gap_width * idle_n
    out = []
    x = 0.0
    for a, b, idle in pieces:
        w = gap_width if idle else busy_plot * (b - a).total_seconds() / busy
        out.append((a, b, x, x + w, idle))
        x += w
    return out


def gantt(
    timeline: Timeline,
    now: datetime,
    *,
    width: int = 960,
    label_width: int = 210,
    row_height: int = 22,
) -> Gantt:
    """Bars for each visit on a shared time axis (viewBox units), one row per visit; long
    idle stretches are compressed and marked, the axis sits on top and at the bottom."""
    visits = timeline.visits
    start = timeline.started_at or (visits[0].entered_at if visits else now)
    end = timeline.ended_at or now
    for v in visits:
        if v.deadline and timeline.is_running and v.outcome == WAITING:
            end = max(end, min(v.deadline, now + (now - start)))
    plot = width - label_width - 16
    moments: list[datetime] = []
    for v in visits:
        moments.append(v.entered_at)
        moments.append(v.exited_at or now)
        for att in v.attempts:
            moments.append(att.scheduled_at)
            if att.ended_at:
                moments.append(att.ended_at)
    if timeline.is_running:
        moments.append(now)
    segments = _segments(moments, start, end, plot)

    def x_of(at: datetime) -> float:
        at = min(max(at, start), end)
        for a, b, x0, x1, _ in segments:
            if a <= at <= b:
                span = (b - a).total_seconds()
                share = (at - a).total_seconds() / span if span else 0.0
                return round(label_width + x0 + (x1 - x0) * share, 2)
        return float(label_width + plot)

    def time_at(x: float) -> float:
        """Seconds since the start at plot offset x (the inverse of x_of)."""
        for a, b, x0, x1, _ in segments:
            if x0 <= x <= x1:
                share = (x - x0) / (x1 - x0) if x1 > x0 else 0.0
                return (a - start).total_seconds() + share * (b - a).total_seconds()
        return (end - start).total_seconds()

    top = AXIS_HEIGHT
    bars = []
    for row, v in enumerate(visits):
        x0 = x_of(v.entered_at)
        x1 = x_of(v.exited_at or now)
        css = [
            f"o-{v.outcome}",
            "comp" if v.is_compensation else ("notify" if v.is_notification else "fwd"),
        ]
        if v.callback:
            css.append("callback")
        if v.state_type in ("Parallel", "Map"):
            css.append("container")
        if v.over_sla(now):
            css.append("over-sla")
        y = top + row * row_height
        bars.append(
            GanttBar(
                visit=v,
                y=y + 4,
                x=x0,
                width=max(round(x1 - x0, 2), 2.0),
                css=" ".join(css),
                # A tick marks a retry: a failed attempt that another attempt followed.
                ticks=tuple(
                    x_of(a.ended_at)
                    for a in v.attempts[:-1]
                    if a.ended_at and a.outcome in (FAILED, TIMED_OUT)
                ),
                deadline_x=x_of(v.deadline) if v.deadline and v.deadline <= end else None,
                label_x=8 + 10 * v.depth,
                bar_y=y + 4,
                bar_height=row_height - 8,
                text_y=y + row_height - 7,
                tick_y2=y + row_height - 2,
            )
        )
    rows_height = max(len(visits), 1) * row_height
    gaps = tuple(
        GanttGap(
            x=round(label_width + x0, 2),
            width=round(x1 - x0, 2),
            label=f"≈ {human_duration((b - a).total_seconds())} idle",
            seconds=(b - a).total_seconds(),
        )
        for a, b, x0, x1, idle in segments
        if idle
    )
    # Clock times: with idle stretches compressed, offsets from the start would not
    # read evenly; the moment at each tick does.
    axis = []
    for i in range(5):
        offset = plot * i / 4
        anchor = "start" if i == 0 else ("end" if i == 4 else "middle")
        axis.append(
            (
                round(label_width + offset, 2),
                start + timedelta(seconds=time_at(offset)),
                anchor,
            )
        )
    return Gantt(
        width=width,
        height=top + rows_height + AXIS_HEIGHT,
        label_width=label_width,
        row_height=row_height,
        bars=tuple(bars),
        axis=tuple(axis),
        now_x=x_of(now) if timeline.is_running else None,
        gaps=gaps,
        top=top,
        axis_y=top + rows_height + 14,
        rows_height=rows_height,
    )


# --- serialising events (the history cache and recorded fixtures) ---------------------


def event_to_json(event: HistoryEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "previous_event_id": event.previous_event_id,
        "type": event.type,
        "timestamp": event.timestamp.isoformat(),
        "details": event.details,
    }


def event_from_json(raw: Mapping[str, Any]) -> HistoryEvent:
    return HistoryEvent(
        id=int(raw["id"]),
        previous_event_id=int(raw.get("previous_event_id", 0)),
        type=str(raw["type"]),
        timestamp=datetime.fromisoformat(str(raw["timestamp"])),
        details=dict(raw.get("details") or {}),
    )


def events_from_json(raw: Sequence[Mapping[str, Any]]) -> list[HistoryEvent]:
    return [event_from_json(r) for r in raw]


def parse_json(text: str | None) -> Any:
    """A payload string as JSON, or the string itself when it is not JSON."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text
