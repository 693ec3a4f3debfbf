"""Step Functions: executions, their history, task tokens, redrive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from .clients import AwsEnvironment, aws_call, client
from .errors import ExecutionNotFound, StateMachineNotFound, none_when, translate

HISTORY_PAGE_SIZE = 1000  # the API's maximum
HISTORY_MAX_EVENTS = 25_000  # a Standard execution's maximum


@dataclass(frozen=True)
class StateMachine:
    arn: str
    name: str
    type: str = "STANDARD"


@dataclass(frozen=True)
class ExecutionSummary:
    """An execution as ListExecutions lists it."""

    arn: str
    name: str
    state_machine_arn: str
    status: str
    started_at: datetime
    stopped_at: datetime | None = None
    redrive_count: int = 0


@dataclass(frozen=True, kw_only=True)
class Execution(ExecutionSummary):
    """An execution as DescribeExecution tells it: the summary, its input, output and error."""

    input: str | None
    output: str | None
    error: str | None
    cause: str | None
    redrive_status: str | None = None
    redrive_status_reason: str | None = None

    def input_json(self) -> Any:
        """The parsed input, or None when it is not JSON."""
        try:
            return json.loads(self.input) if self.input else None
        except ValueError:
            return None


@dataclass(frozen=True)
class HistoryEvent:
    id: int
    previous_event_id: int
    type: str
    timestamp: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryPage:
    events: tuple[HistoryEvent, ...]
    next_token: str | None


_Summary = TypeVar("_Summary", bound=ExecutionSummary)


def _execution(item: dict[str, Any], cls: type[_Summary], **detail: Any) -> _Summary:
    # ListExecutions and DescribeExecution name the summary's fields alike.
    return cls(
        arn=item["executionArn"],
        name=item["name"],
        state_machine_arn=item["stateMachineArn"],
        status=item["status"],
        started_at=item["startDate"],
        stopped_at=item.get("stopDate"),
        redrive_count=item.get("redriveCount", 0),
        **detail,
    )


@aws_call("ListStateMachines")
def list_state_machines(env: AwsEnvironment | None = None) -> list[StateMachine]:
    """Every state machine in the environment."""
    paginator = client("stepfunctions", env).get_paginator("list_state_machines")
    return [
        StateMachine(arn=sm["stateMachineArn"], name=sm["name"], type=sm.get("type", "STANDARD"))
        for page in paginator.paginate()
        for sm in page["stateMachines"]
    ]


def iter_executions(
    state_machine_arn: str,
    *,
    status: str | None = None,
    page_size: int = 100,
    env: AwsEnvironment | None = None,
) -> Iterator[ExecutionSummary]:
    """Executions newest first, one ListExecutions page at a time (stop iterating to stop
    paging)."""
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": page_size}
    if status:
        kwargs["statusFilter"] = status
    sfn = client("stepfunctions", env)
    while True:
        try:
            page = sfn.list_executions(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            error = translate(exc, operation="ListExecutions")
            if error.code == "StateMachineDoesNotExist":
                raise StateMachineNotFound(str(error)) from exc
            raise error from exc
        for item in page.get("executions", []):
            yield _execution(item, ExecutionSummary)
        token = page.get("nextToken")
        if not token:
            return
        kwargs["nextToken"] = token


@none_when(ExecutionNotFound)
@aws_call("DescribeExecution")
def describe_execution(arn: str, env: AwsEnvironment | None = None) -> Execution:
    """The execution's current state, input and output; None when it does not exist."""
    d = client("stepfunctions", env).describe_execution(executionArn=arn)
    return _execution(
        d,
        Execution,
        input=d.get("input"),
        output=d.get("output"),
        error=d.get("error"),
        cause=d.get("cause"),
        redrive_status=d.get("redriveStatus"),
        redrive_status_reason=d.get("redriveStatusReason"),
    )


def _event(raw: dict[str, Any]) -> HistoryEvent:
    details: dict[str, Any] = {}
    for key, value in raw.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            details = value
            break
    return HistoryEvent(
        id=int(raw["id"]),
        previous_event_id=int(raw.get("previousEventId", 0)),
        type=raw["type"],
        timestamp=raw["timestamp"],
        details=details,
    )


@aws_call("GetExecutionHistory")
def get_history_page(
    arn: str, next_token: str | None = None, env: AwsEnvironment | None = None
) -> HistoryPage:
    """One page (up to 1,000 events, oldest first) of an execution's history."""
    return _history_page(arn, next_token, env, maxResults=HISTORY_PAGE_SIZE)


def _history_page(
    arn: str, next_token: str | None, env: AwsEnvironment | None, **params: Any
) -> HistoryPage:
    kwargs: dict[str, Any] = {"executionArn": arn, "includeExecutionData": True, **params}
    if next_token:
        kwargs["nextToken"] = next_token
    page = client("stepfunctions", env).get_execution_history(**kwargs)
    return HistoryPage(
        events=tuple(_event(e) for e in page.get("events", [])),
        next_token=page.get("nextToken"),
    )


def get_execution_history(arn: str, env: AwsEnvironment | None = None) -> list[HistoryEvent]:
    """The whole history, paged 1,000 at a time, capped at the 25,000-event maximum."""
    events: list[HistoryEvent] = []
    token: str | None = None
    while True:
        page = get_history_page(arn, token, env)
        events.extend(page.events)
        token = page.next_token
        if not token or len(events) >= HISTORY_MAX_EVENTS:
            return events


@dataclass(frozen=True)
class ExecutionPage:
    executions: tuple[ExecutionSummary, ...]
    next_token: str | None


def list_executions_page(
    state_machine_arn: str,
    *,
    next_token: str | None = None,
    status: str | None = None,
    page_size: int = 100,
    env: AwsEnvironment | None = None,
) -> ExecutionPage:
    """One ListExecutions page, newest first (for callers that decide per page when to stop)."""
    kwargs: dict[str, Any] = {"stateMachineArn": state_machine_arn, "maxResults": page_size}
    if status:
        kwargs["statusFilter"] = status
    if next_token:
        kwargs["nextToken"] = next_token
    try:
        page = client("stepfunctions", env).list_executions(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        error = translate(exc, operation="ListExecutions")
        if error.code == "StateMachineDoesNotExist":
            raise StateMachineNotFound(str(error)) from exc
        raise error from exc
    return ExecutionPage(
        executions=tuple(_execution(item, ExecutionSummary) for item in page.get("executions", [])),
        next_token=page.get("nextToken"),
    )


@aws_call("GetExecutionHistory")
def _history_newest_first(
    arn: str, max_results: int, next_token: str | None, env: AwsEnvironment | None
) -> HistoryPage:
    page = _history_page(arn, next_token, env, maxResults=max_results, reverseOrder=True)
    # Newest first whatever the endpoint did with reverseOrder (some emulators ignore it).
    events = sorted(page.events, key=lambda e: -e.id)
    return HistoryPage(events=tuple(events), next_token=page.next_token)


def get_history_tail(
    arn: str, max_events: int = 50, env: AwsEnvironment | None = None
) -> list[HistoryEvent]:
    """The newest `max_events` events of an execution, oldest first, in one call."""
    page = _history_newest_first(arn, min(max_events, HISTORY_PAGE_SIZE), None, env)
    return sorted(page.events[:max_events], key=lambda e: e.id)


def get_history_after(
    arn: str, after_event_id: int = 0, env: AwsEnvironment | None = None
) -> tuple[list[HistoryEvent], int]:
    """Events newer than `after_event_id` (0: the whole history, capped at 25,000), oldest
    first, read newest first in pages of 1,000 until that event is reached; and the number of
    GetExecutionHistory calls it took."""
    found: dict[int, HistoryEvent] = {}
    token: str | None = None
    calls = 0
    while True:
        page = _history_newest_first(arn, HISTORY_PAGE_SIZE, token, env)
        calls += 1
        reached = False
        for event in page.events:
            if event.id <= after_event_id:
                reached = True
                continue
            found[event.id] = event
        token = page.next_token
        if reached or not token or len(found) >= HISTORY_MAX_EVENTS:
            return sorted(found.values(), key=lambda e: e.id), calls


@aws_call("StartExecution")
def start_execution(
    state_machine_arn: str, name: str, payload: dict[str, Any], env: AwsEnvironment | None = None
) -> str:
    """Start an execution and return its ARN (idempotent for the same name and input)."""
    result = client("stepfunctions", env).start_execution(
        stateMachineArn=state_machine_arn, name=name, input=json.dumps(payload)
    )
    return str(result["executionArn"])


@aws_call("SendTaskSuccess")
def send_task_success(
    token: str, output: dict[str, Any], env: AwsEnvironment | None = None
) -> None:
    """Resume a waiting step with `output` (raises TaskTokenExpired / TaskTokenInvalid)."""
    client("stepfunctions", env).send_task_success(taskToken=token, output=json.dumps(output))


@aws_call("SendTaskFailure")
def send_task_failure(
    token: str, error: str, cause: str, env: AwsEnvironment | None = None
) -> None:
    """Fail a waiting step with `error` and `cause` (same errors as send_task_success)."""
    client("stepfunctions", env).send_task_failure(
        taskToken=token, error=error, cause=cause[:32768]
    )


@aws_call("SendTaskHeartbeat")
def send_task_heartbeat(token: str, env: AwsEnvironment | None = None) -> None:
    """Tell a waiting step its worker is still alive."""
    client("stepfunctions", env).send_task_heartbeat(taskToken=token)


@aws_call("RedriveExecution")
def redrive_execution(
    arn: str, client_token: str, env: AwsEnvironment | None = None
) -> datetime | None:
    """Redrive a failed Standard execution from its failed step (idempotent per client token:
    AWS keeps the last 10 tokens for 15 minutes); return the redrive date."""
    found = client("stepfunctions", env).redrive_execution(
        executionArn=arn, clientToken=client_token[:64]
    )
    return found.get("redriveDate")


@aws_call("StopExecution")
def stop_execution(arn: str, error: str, cause: str, env: AwsEnvironment | None = None) -> None:
    """Abort a running execution, with the error and cause its history will show."""
    client("stepfunctions", env).stop_execution(
        executionArn=arn, error=error[:256], cause=cause[:32768]
    )


@aws_call("StartExecution")
def start_execution_with_input(
    state_machine_arn: str, name: str, input_text: str, env: AwsEnvironment | None = None
) -> str:
    """Start an execution with an input document given as JSON text; return its ARN."""
    result = client("stepfunctions", env).start_execution(
        stateMachineArn=state_machine_arn, name=name, input=input_text
    )
    return str(result["executionArn"])


@aws_call("DescribeStateMachine")
def state_machine_definition(arn: str, env: AwsEnvironment | None = None) -> dict[str, Any]:
    """The state machine's current definition (ASL) as a document."""
    found = client("stepfunctions", env).describe_state_machine(stateMachineArn=arn)
    return dict(json.loads(found["definition"]))


@aws_call("DescribeStateMachineForExecution")
def execution_definition(execution_arn: str, env: AwsEnvironment | None = None) -> dict[str, Any]:
    """The definition (ASL) the execution runs with: the one it started with, even when the
    state machine was updated since."""
    found = client("stepfunctions", env).describe_state_machine_for_execution(
        executionArn=execution_arn
    )
    return dict(json.loads(found["definition"]))


@aws_call("UpdateStateMachine")
def update_definition(
    arn: str, definition: dict[str, Any], env: AwsEnvironment | None = None
) -> None:
    """Replace the state machine's definition; running executions keep the one they began with."""
    client("stepfunctions", env).update_state_machine(
        stateMachineArn=arn, definition=json.dumps(definition)
    )


@aws_call("CreateStateMachine")
def ensure_state_machine(
    name: str, definition: dict[str, Any], role_arn: str, env: AwsEnvironment | None = None
) -> str:
    """Create the state machine, or update its definition when it exists; return its ARN."""
    sfn = client("stepfunctions", env)
    for sm in list_state_machines(env):
        if sm.name == name:
            sfn.update_state_machine(stateMachineArn=sm.arn, definition=json.dumps(definition))
            return sm.arn
    result = sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=role_arn, type="STANDARD"
    )
    return str(result["stateMachineArn"])
