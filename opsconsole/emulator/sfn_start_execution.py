"""The Step Functions `startExecution` service integration (a state that starts another
state machine), as AWS documents it; moto 5.2's port of it cannot make the call.

AWS: a Task with `"Resource": "arn:aws:states:::states:startExecution"` takes the
parameters `StateMachineArn`, `Name` and `Input` (an object or a JSON text), calls
StartExecution, and returns `{"ExecutionArn": ..., "StartDate": ...}`; a refusal fails the
task with `StepFunctions.<Code>Exception` (e.g. `StepFunctions.ExecutionAlreadyExistsException`
for a name already used). moto hands the PascalCase parameters to a boto3 client that expects
camelCase ones (`stateMachineArn`...), so every such task fails with `States.Runtime`, and it
returns boto3's camelCase answer. `install()` translates both ways (the emulator server and
the tests' in-process moto both call it).
"""

from __future__ import annotations

from typing import Any

_PARAMETERS = {"StateMachineArn": "stateMachineArn", "Name": "name", "Input": "input"}
_ANSWER = {"executionArn": "ExecutionArn", "startDate": "StartDate"}


def install() -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn as sfn,
    )

    service = sfn.StateTaskServiceSfn
    if getattr(service, "_opsconsole_start_execution", False):
        return
    original_normalise = service._normalise_parameters
    original_eval = service._eval_service_task

    def normalise(
        self: Any,
        parameters: dict,
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original_normalise(self, parameters, boto_service_name, service_action_name)
        if self._get_boto_service_action() == "start_execution":
            for aws_name, boto_name in _PARAMETERS.items():
                if aws_name in parameters:
                    parameters[boto_name] = parameters.pop(aws_name)

    def evaluate(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        original_eval(self, env, *args, **kwargs)
        if self._get_boto_service_action() == "start_execution" and env.stack:
            answer = env.stack.pop()
            if isinstance(answer, dict):
                answer = {_ANSWER.get(k, k): v for k, v in answer.items()}
                if hasattr(answer.get("StartDate"), "timestamp"):
                    answer["StartDate"] = answer["StartDate"].timestamp()
            env.stack.append(answer)

    service._normalise_parameters = normalise  # type: ignore[method-assign]
    service._eval_service_task = evaluate  # type: ignore[method-assign]
    service._opsconsole_start_execution = True  # type: ignore[attr-defined]
