"""EventBridge rules that start Step Functions state machines, as AWS documents the target
(moto 5.2 delivers to SQS, log groups, archives and other buses, and drops the rest).

AWS's contract for a rule target whose ARN is a state machine:

- EventBridge calls StartExecution on it with the rule's role. The execution input is what
  the target sends: the whole event by default, the target's `Input` (a constant JSON
  text), the part `InputPath` selects, or what its `InputTransformer` makes. The target has
  no execution name parameter: Step Functions generates one (a UUID).
- A replayed event is delivered the same way, with `replay-name` in the event.
- A delivery that fails (the state machine is gone, StartExecution refused) goes, when the
  target has a `DeadLetterConfig`, to that queue with the attributes `RULE_ARN`,
  `TARGET_ARN`, `ERROR_CODE` and `ERROR_MESSAGE`.
- A rule whose state is DISABLED delivers nothing (moto delivered anyway).

`install()` patches this process's moto (the emulator server and the tests' in-process
moto both call it), next to events_replay.install().
"""

from __future__ import annotations

import copy
import json
import logging
import uuid
from typing import Any

log = logging.getLogger(__name__)


def _select(value: Any, path: str) -> Any:
    """A JSONPath of the simple form EventBridge's InputPath takes ($.detail.data)."""
    found = value
    for part in [p for p in path.lstrip("$").split(".") if p]:
        if not isinstance(found, dict) or part not in found:
            return None
        found = found[part]
    return found


def target_input(target: dict[str, Any], event: dict[str, Any], transform: bool) -> str:
    """What the target receives for `event`, as a JSON text."""
    if transform and target.get("InputTransformer"):
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        made = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
        return made if isinstance(made, str) else json.dumps(made)
    if target.get("Input"):
        return str(target["Input"])
    if target.get("InputPath"):
        return json.dumps(_select(event, target["InputPath"]))
    return json.dumps(event, default=str)


def _dead_letter(rule: Any, target: dict[str, Any], event: Any, code: str, message: str) -> None:
    dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not dlq:
        log.warning("rule %s could not start %s: %s %s", rule.name, target["Arn"], code, message)
        return
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, queue = dlq.split(":", 5)
    sqs_backends[account][region].send_message(
        queue,
        json.dumps(event, default=str),
        message_attributes={
            "RULE_ARN": {"DataType": "String", "StringValue": rule.arn},
            "TARGET_ARN": {"DataType": "String", "StringValue": target["Arn"]},
            "ERROR_CODE": {"DataType": "String", "StringValue": code},
            "ERROR_MESSAGE": {"DataType": "String", "StringValue": message[:256]},
        },
    )


def start_execution(rule: Any, target: dict[str, Any], event: Any, transform: bool) -> str | None:
    """StartExecution for one delivery; the new execution's ARN (None: dead-lettered)."""
    from moto.stepfunctions.responses import get_backend

    arn = target["Arn"]
    _, _, _, region, account, _rest = arn.split(":", 5)
    try:
        backend = get_backend(account, region)
        execution = backend.start_execution(
            arn, name=str(uuid.uuid4()), execution_input=target_input(target, event, transform)
        )
    except Exception as exc:  # noqa: BLE001 - every refusal is a failed delivery
        code = getattr(exc, "code", None) or type(exc).__name__
        _dead_letter(rule, target, event, str(code), str(exc))
        return None
    found: Any = execution  # moto's parser Execution (exec_arn) or its plain one
    return str(getattr(found, "exec_arn", None) or found.execution_arn)


def _is_state_machine(arn: str) -> bool:
    parts = arn.split(":")
    return len(parts) > 6 and parts[2] == "states" and parts[5] == "stateMachine"


def install() -> None:
    """Teach this process's moto to deliver to state machine targets (idempotent)."""
    from moto.events import models

    if getattr(models.Rule, "_opsconsole_sfn_targets", False):
        return
    original = models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if str(getattr(self, "state", "ENABLED")).upper() != "ENABLED":
            return
        machines = [t for t in self.targets if _is_state_machine(str(t.get("Arn", "")))]
        if not machines:
            original(self, original_event, transform_input)
            return
        others = [t for t in self.targets if t not in machines]
        if others:
            rest = copy.copy(self)
            rest.targets = others
            original(rest, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return
        for target in machines:
            start_execution(self, target, original_event, transform_input)

    models.Rule.send_to_targets = send_to_targets  # type: ignore[method-assign]
    models.Rule._opsconsole_sfn_targets = True  # type: ignore[attr-defined]
