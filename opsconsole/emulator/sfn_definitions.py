"""DescribeStateMachineForExecution as AWS documents it: the definition an execution runs
with is the one it started with, whatever UpdateStateMachine did since.

moto's engine runs each execution on a snapshot of its state machine, but its answer to
DescribeStateMachineForExecution describes the state machine as it is now. This answers
from the execution's own snapshot.
"""

from __future__ import annotations

from typing import Any


def install() -> None:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    if getattr(StepFunctionResponse, "_opsconsole_definitions", False):
        return
    original = StepFunctionResponse.describe_state_machine_for_execution

    def describe_for_execution(self: Any) -> Any:
        answer = original(self)
        arn = self._get_param("executionArn")
        sm = self.stepfunction_backend.describe_state_machine_for_execution(arn)
        execution = next((e for e in sm.executions if e.execution_arn == arn), None)
        started = getattr(execution, "state_machine", None)
        definition = getattr(started, "definition", None)
        if definition is None or not isinstance(answer.result, dict):
            return answer
        result = dict(answer.result)
        result["definition"] = definition
        revision = getattr(started, "revision_id", None)
        if revision:
            result["revisionId"] = revision
        return ActionResult(result)

    StepFunctionResponse.describe_state_machine_for_execution = describe_for_execution  # type: ignore[method-assign]
    StepFunctionResponse._opsconsole_definitions = True  # type: ignore[attr-defined]
