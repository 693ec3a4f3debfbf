"""Step Functions "Execution Status Change" events on the default EventBridge bus, as AWS
sends them (moto does not).

AWS puts one event on the account's default bus each time a Standard execution changes
status (RUNNING when it starts, then SUCCEEDED, FAILED, TIMED_OUT or ABORTED), whether or not
a rule listens:

    {"version": "0", "id": "...", "detail-type": "Step Functions Execution Status Change",
     "source": "aws.states", "account": "...", "time": "2026-11-30T12:00:00Z",
     "region": "...", "resources": ["<execution arn>"],
     "detail": {"executionArn": ..., "stateMachineArn": ..., "name": ..., "status": ...,
                "startDate": <epoch ms>, "stopDate": <epoch ms or null>,
                "input": "<json>" or null, "inputDetails": {"included": true|false},
                "output": ..., "outputDetails": ..., "error": ..., "cause": ...,
                "redriveCount": 0, ...}}

The input (and output) are left out, with `included: false`, when the event would pass
EventBridge's 256 KiB limit (INCLUDED_LIMIT). A rule on the default bus routes the events to
its targets (moto delivers to SQS in process).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

DETAIL_TYPE = "Step Functions Execution Status Change"
SOURCE = "aws.states"
# Room left for the rest of the event under EventBridge's 256 KiB.
INCLUDED_LIMIT = 248 * 1024

_installed = False


def _ms(when: datetime | None) -> int | None:
    return int(when.timestamp() * 1000) if when is not None else None


def _data(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def status_event(execution: Any, status: str | None = None) -> dict[str, Any]:
    """The event AWS sends for `execution` (moto's parser Execution) in its current status."""
    if status is None:
        status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
    given = _data(execution.input_data)
    output = _data(execution.output) if status == "SUCCEEDED" else None
    input_included = given is None or len(given.encode()) <= INCLUDED_LIMIT
    output_included = output is None or len(output.encode()) <= INCLUDED_LIMIT
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _ms(execution.start_date),
        "stopDate": _ms(execution.stop_date),
        "input": given if input_included else None,
        "output": output if output_included else None,
        "inputDetails": {"included": input_included},
        "outputDetails": {"included": output_included} if status == "SUCCEEDED" else None,
        "error": execution.error,
        "cause": execution.cause,
        "redriveCount": int(getattr(execution, "redrive_count", 0) or 0),
    }


def emit(execution: Any, status: str | None = None) -> None:
    """Put the execution's status change event on its account's default bus."""
    try:
        from moto.events.models import events_backends

        detail = status_event(execution, status)
        backend = events_backends[execution.account_id][execution.region_name]
        event: Any = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": DETAIL_TYPE,
            "source": SOURCE,
            "account": execution.account_id,
            # Epoch seconds: moto's SQS delivery writes it as AWS's "2026-11-30T12:00:00Z".
            "time": time.time(),
            "region": execution.region_name,
            "resources": [execution.exec_arn],
            "detail": detail,
        }
        # Delivered as EventBridge delivers AWS service events: the whole event, unchanged
        # (moto's PutEvents path would re-template it, dropping `account`). Input
        # transformers on the targets are not applied.
        for rule in list(backend.describe_event_bus("default").rules.values()):
            if rule.state == "ENABLED":
                rule.send_to_targets(event, transform_input=False)
    except Exception:  # an event lost must never break the execution itself
        log.exception("could not emit the status change of %s", getattr(execution, "name", "?"))


def install() -> None:
    """Emit an event when an execution starts and when it ends (idempotent)."""
    global _installed
    if _installed:
        return
    from moto.stepfunctions.parser.backend import execution as module

    original_start = module.Execution.start
    original_terminated = module.BaseExecutionWorkerCommunication.terminated

    def start(self: Any) -> None:
        # Before the worker runs, so that a short execution's end is not announced first.
        if not isinstance(self, module.SyncExecution):  # synchronous Express: no events
            emit(self, "RUNNING")
        original_start(self)

    def terminated(self: Any) -> None:
        original_terminated(self)
        if not isinstance(self.execution, module.SyncExecution):
            emit(self.execution)

    module.Execution.start = start  # type: ignore[method-assign]
    module.BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    _installed = True
