"""A redriven execution's history continues after its end: the case page reads it as running
again, at the state it resumed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from opsconsole.aws.stepfunctions import HistoryEvent
from sagas.timeline import TimelineRules, build_timeline

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _e(i: int, prev: int, kind: str, **details) -> HistoryEvent:
    return HistoryEvent(i, prev, kind, T0 + timedelta(seconds=i), details)


def test_a_redriven_execution_reads_as_running_at_the_resumed_state():
    events = [
        _e(1, 0, "ExecutionStarted", input="{}"),
        _e(2, 1, "WaitStateEntered", name="AwaitDispatchDate", input="{}"),
        _e(3, 2, "ExecutionAborted", error="OperatorStopped", cause="by phone"),
        _e(4, 3, "ExecutionRedriven", redriveCount=1),
        _e(5, 4, "WaitStateEntered", name="AwaitDispatchDate", input="{}"),
    ]
    timeline = build_timeline(events, TimelineRules())
    assert timeline.status == "RUNNING"
    assert timeline.ended_at is None
    assert timeline.error == ""
    assert [v.name for v in timeline.visits][-1] == "AwaitDispatchDate"
