"""RedriveExecution for moto's Step Functions engine, as AWS documents it.

moto 5.2 executes state machines (its engine is a port of LocalStack's) but has no
RedriveExecution. AWS's contract, implemented here:

- Only Standard executions that FAILED, TIMED_OUT or were ABORTED, within 14 days of
  stopping, with fewer than 25,000 history events and redriven fewer than 1,000 times;
  otherwise `ExecutionNotRedrivable` with the reason DescribeExecution gives as
  `redriveStatusReason`.
- The same execution (same ARN, same start date, same input) continues at the state that
  did not complete (the one entered and never exited: a Task whose retries ran out, the
  Fail state a Catch led to, the Wait an abort interrupted) with the input that state was
  entered with; the steps that completed are not run again.
- The history continues: an `ExecutionRedriven` event (with `redriveCount`), then the
  events of the resumed run, numbered on from the last one.
- `clientToken` makes the call idempotent: a token seen in the last 15 minutes (the last
  10 per execution) answers the first call's `redriveDate` and redrives nothing.
- DescribeExecution reports `redriveCount`, `redriveDate`, `redriveStatus` and
  `redriveStatusReason`; ListExecutions reports `redriveCount` and `redriveDate`.

Also: StopExecution keeps the `error` and `cause` it is given (moto drops them) and stops a
step that waits for a task token too (moto leaves it waiting).

One difference: a failed Parallel or inline Map state is run again whole, where AWS reruns
only its failed branches or iterations (the demo's Parallel and Map states are idempotent
reads and conditional writes, so the outcome is the same).

`install()` patches moto in this process (the emulator server and the tests' in-process
moto both call it).
"""

from __future__ import annotations

import copy
import datetime
import json
import threading
from collections import OrderedDict
from typing import Any, cast

REDRIVABLE_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
REDRIVE_PERIOD = datetime.timedelta(days=14)
MAX_HISTORY_EVENTS = 25_000
MAX_REDRIVES = 1000
TOKEN_TTL = datetime.timedelta(minutes=15)
TOKENS_KEPT = 10

_lock = threading.Lock()


def _now() -> datetime.datetime:
    return datetime.datetime.now(tz=datetime.UTC)


def _not_redrivable(message: str) -> Exception:
    from moto.stepfunctions.exceptions import AWSError

    class ExecutionNotRedrivable(AWSError):
        TYPE = "ExecutionNotRedrivable"
        STATUS = 400

    return ExecutionNotRedrivable(message)


def _history(execution: Any) -> list[dict[str, Any]]:
    worker = getattr(execution, "exec_worker", None)
    env = getattr(worker, "env", None)
    if env is None:
        return []
    return list(env.event_manager.get_event_history())


def redrive_status(execution: Any) -> tuple[str, str | None]:
    """(redriveStatus, redriveStatusReason) as DescribeExecution reports them."""
    status = execution.status
    if status == "RUNNING":
        return "NOT_REDRIVABLE", "Execution is RUNNING and cannot be redriven"
    if status == "SUCCEEDED":
        return "NOT_REDRIVABLE", "Execution is SUCCEEDED and cannot be redriven"
    if getattr(execution.sm_type, "value", execution.sm_type) == "EXPRESS":
        return "NOT_REDRIVABLE", "Execution is of type EXPRESS and cannot be redriven"
    stopped = execution.stop_date or execution.start_date
    if stopped is not None and _now() - stopped > REDRIVE_PERIOD:
        return "NOT_REDRIVABLE", "Execution redrivable period exceeded"
    if len(_history(execution)) >= MAX_HISTORY_EVENTS - 1:
        return "NOT_REDRIVABLE", "Execution history event limit exceeded"
    if getattr(execution, "redrive_count", 0) >= MAX_REDRIVES:
        return "NOT_REDRIVABLE", "Execution redrive limit exceeded"
    if _resume_point(execution) is None:
        return "NOT_REDRIVABLE", "Execution has no unsuccessful state to redrive"
    return "REDRIVABLE", None


def _resume_point(execution: Any) -> tuple[str, Any] | None:
    """The top-level state that did not complete, and the input it was entered with."""
    try:
        definition = json.loads(execution.state_machine.definition)
    except (TypeError, ValueError):
        return None
    top = set(definition.get("States", {}))
    open_state: tuple[Any, Any] | None = None
    for event in _history(execution):
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            details = event.get("stateEnteredEventDetails") or {}
            name = details.get("name")
            if name in top:
                raw = details.get("input")
                try:
                    value = json.loads(raw) if isinstance(raw, str) else raw
                except ValueError:
                    value = raw
                open_state = (name, value)
        elif kind.endswith("StateExited"):
            name = (event.get("stateExitedEventDetails") or {}).get("name")
            if open_state is not None and name == open_state[0]:
                open_state = None
    return open_state


def _remembered(execution: Any, token: str) -> datetime.datetime | None:
    tokens: OrderedDict[str, datetime.datetime] = execution.__dict__.setdefault(
        "_redrive_tokens", OrderedDict()
    )
    now = _now()
    for old, at in list(tokens.items()):
        if now - at > TOKEN_TTL:
            del tokens[old]
    return tokens.get(token)


def _remember(execution: Any, token: str, at: datetime.datetime) -> None:
    tokens: OrderedDict[str, datetime.datetime] = execution.__dict__.setdefault(
        "_redrive_tokens", OrderedDict()
    )
    tokens[token] = at
    while len(tokens) > TOKENS_KEPT:
        tokens.popitem(last=False)


def redrive(backend: Any, execution_arn: str, client_token: str | None) -> datetime.datetime:
    """Resume a failed execution at its failed state; return the redrive date."""
    execution = backend.describe_execution(execution_arn)
    with _lock:
        if client_token:
            seen = _remembered(execution, client_token)
            if seen is not None:
                return seen
        status, reason = redrive_status(execution)
        if status != "REDRIVABLE":
            raise _not_redrivable(f"{reason}: '{execution_arn}'")
        name, state_input = _resume_point(execution)  # type: ignore[misc]
        at = _now()
        old_worker = execution.exec_worker
        count = int(getattr(execution, "redrive_count", 0)) + 1
        execution.redrive_count = count
        execution.redrive_date = at
        execution.exec_worker = _RedriveWorker.following(old_worker, name, state_input, count)
        from moto.stepfunctions.parser.api import ExecutionStatus

        execution.exec_status = ExecutionStatus.RUNNING
        execution.stop_date = None
        execution.error = None
        execution.cause = None
        execution.output = None
        if client_token:
            _remember(execution, client_token, at)
        execution.exec_worker.start()
        return at


def _worker_class() -> type:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.flow.start_at import StartAt
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventHistoryContext
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    class RedriveWorker(ExecutionWorker):
        """Runs the rest of an execution: from its failed state, into its old history."""

        _resume_at: str
        _resume_input: Any
        _redrive_count: int
        _event_manager: Any

        @classmethod
        def following(
            cls, old: Any, state_name: str, state_input: Any, count: int
        ) -> RedriveWorker:
            worker = cls(
                evaluation_details=old._evaluation_details,
                exec_comm=old._execution_communication,
                cloud_watch_logging_session=old._cloud_watch_logging_session,
                activity_store=old._activity_store,
                mock_test_case=old._mock_test_case,
            )
            worker._resume_at = state_name
            worker._resume_input = state_input
            worker._redrive_count = count
            worker._event_manager = old.env.event_manager
            # Until the new environment exists, history reads see the old one.
            worker.env = old.env
            return worker

        def _execution_logic(self) -> None:
            program: Any = copy.copy(self._get_evaluation_entrypoint())
            program.start_at = StartAt(self._resume_at)
            env = self._get_evaluation_environment()
            env.event_manager = self._event_manager
            history = self._event_manager.get_event_history()
            last_id = int(history[-1]["id"]) if history else 0
            env.event_history_context = EventHistoryContext(previous_event_id=last_id)  # type: ignore[misc]
            env.states.reset(copy.deepcopy(self._resume_input))
            self._event_manager.add_event(
                context=env.event_history_context,
                event_type=HistoryEventType.ExecutionRedriven,
                event_details=cast(
                    EventDetails,
                    {"executionRedrivenEventDetails": {"redriveCount": self._redrive_count}},
                ),
            )
            self.env = env
            program.eval(env)
            self._execution_communication.terminated()

    return RedriveWorker


_RedriveWorker: Any = None


def install() -> None:
    """Teach this process's moto RedriveExecution and the redrive fields (idempotent)."""
    global _RedriveWorker
    from moto.stepfunctions.responses import StepFunctionResponse

    if getattr(StepFunctionResponse, "_opsconsole_redrive", False):
        return
    from moto.core.responses import ActionResult

    _RedriveWorker = _worker_class()

    def redrive_execution(self: Any) -> Any:
        arn = self._get_param("executionArn")
        token = self._get_param("clientToken")
        at = redrive(self.stepfunction_backend, arn, token)
        return ActionResult({"redriveDate": at})

    original_describe = StepFunctionResponse.describe_execution

    def describe_execution(self: Any) -> Any:
        result = original_describe(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        body: Any = result.result
        status, reason = redrive_status(execution)
        body["redriveCount"] = int(getattr(execution, "redrive_count", 0))
        if getattr(execution, "redrive_date", None) is not None:
            body["redriveDate"] = execution.redrive_date
        body["redriveStatus"] = status
        if reason:
            body["redriveStatusReason"] = reason
        if execution.status != "RUNNING" and execution.stop_date is not None:
            body["stopDate"] = execution.stop_date
        return result

    original_list = StepFunctionResponse.list_executions

    def list_executions(self: Any) -> Any:
        result = original_list(self)
        backend = self.stepfunction_backend
        listed: Any = result.result
        for item in listed.get("executions", []):
            try:
                execution = backend.describe_execution(item["executionArn"])
            except Exception:  # noqa: S112 - a listed execution vanished: list it as it was
                continue
            count = int(getattr(execution, "redrive_count", 0))
            item["redriveCount"] = count
            if count:
                item["redriveDate"] = execution.redrive_date
        return result

    def stop_execution(self: Any) -> Any:
        arn = self._get_param("executionArn")
        error = self._get_param("error")
        cause = self._get_param("cause")
        execution = self.stepfunction_backend.describe_execution(arn)
        if execution.status == "RUNNING":
            # What moto's own stop does, keeping the error and cause it was given.
            execution.stop(stop_date=_now(), error=error, cause=cause)
            # moto leaves a step that waits for a task token waiting: wake it, it sees the
            # stop and the execution ends ABORTED as on AWS.
            env = getattr(execution.exec_worker, "env", None)
            pool = getattr(getattr(env, "callback_pool_manager", None), "_pool", {})
            for endpoint in list(pool.values()):
                endpoint.interrupt_all()
        return ActionResult({"stopDate": execution.stop_date or _now()})

    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    original_set_error = Environment.set_error

    def set_error(self: Any, error: Any) -> None:
        # The woken step fails as it unwinds; the execution was stopped, and stays ABORTED.
        if isinstance(self._program_state, ProgramStopped):
            return
        original_set_error(self, error)

    Environment.set_error = set_error  # type: ignore[method-assign]

    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    original_reflect = BaseExecutionWorkerCommunication._reflect_execution_status

    def reflect(self: Any) -> None:
        original_reflect(self)
        state = self.execution.exec_worker.env.program_state()
        if isinstance(state, ProgramStopped):
            self.execution.error = state.error or None
            self.execution.cause = state.cause or None

    BaseExecutionWorkerCommunication._reflect_execution_status = reflect  # type: ignore[method-assign]
    StepFunctionResponse.redrive_execution = redrive_execution  # type: ignore[attr-defined]
    StepFunctionResponse.describe_execution = describe_execution  # type: ignore[method-assign]
    StepFunctionResponse.list_executions = list_executions  # type: ignore[method-assign]
    StepFunctionResponse.stop_execution = stop_execution  # type: ignore[method-assign]
    StepFunctionResponse._opsconsole_redrive = True  # type: ignore[attr-defined]
