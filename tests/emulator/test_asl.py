"""The state machines use exactly the step names the registry declares."""

from __future__ import annotations

from typing import Any

import pytest

from opsconsole.emulator import asl, world
from opsconsole.registry import get_registry


def _state_names(definition: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for name, state in definition["States"].items():
        names.add(name)
        for branch in state.get("Branches", []):
            names |= _state_names(branch)
        if "ItemProcessor" in state:
            names |= _state_names(state["ItemProcessor"])
    return names


def _targets() -> asl.Targets:
    return asl.Targets(**{f: f"arn-or-url-of-{f}" for f in asl.Targets.__dataclass_fields__})


@pytest.mark.parametrize(
    ("kind_key", "build"),
    [("orders", asl.order_fulfillment), ("closures", asl.account_closure)],
)
def test_it_names_every_registry_step_as_a_state(kind_key, build):
    kind = get_registry().kind(kind_key)
    assert kind is not None
    names = _state_names(build(_targets()))
    assert set(kind.steps) <= names
    assert set(kind.compensation_steps) <= names
    assert set(kind.approval_steps) <= names


def test_it_sends_approval_requests_with_the_task_token_and_a_timeout():
    definition = asl.order_fulfillment(_targets())
    approval = definition["States"]["AwaitApproval"]
    assert approval["Resource"].endswith("sqs:sendMessage.waitForTaskToken")
    assert approval["Parameters"]["MessageBody"]["taskToken.$"] == "$$.Task.Token"
    assert "TimeoutSecondsPath" in approval
    closure = asl.account_closure(_targets())["States"]["AwaitClosureApproval"]
    assert closure["TimeoutSeconds"] == asl.APPROVAL_TIMEOUT_SECONDS


def test_it_retries_every_task():
    for definition in (asl.order_fulfillment(_targets()), asl.account_closure(_targets())):
        for name, state in definition["States"].items():
            if state["Type"] == "Task" and "waitForTaskToken" not in state["Resource"]:
                assert state.get("Retry"), name
    assert world.ORDER_STATE_MACHINE == "OrderFulfillment"
