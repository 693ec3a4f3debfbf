"""The emulator tests' seeded world (a fresh one for tests that change it) and helpers to
read it; tests that only read use `seeded_world_readonly` (seeding takes seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from opsconsole.aws import dynamodb, sqs, stepfunctions
from opsconsole.aws.stepfunctions import Execution, HistoryEvent
from opsconsole.emulator import seed, world
from tests import helpers
from tests.helpers import wait_until


@pytest.fixture
def seeded(aws: None) -> Iterator[world.World]:
    """In-process AWS with the demo world built and its well-known sagas seeded: a world of
    the test's own, for tests that change it (answer an approval...). Tests that only read
    the seeded world use `seeded_world_readonly` (tests/conftest.py), built once."""
    built = world.build()
    # Only the well-known sagas: 9 orders and 5 closures, one of each outcome.
    seed.seed(orders=9, closures=5, built=built)
    yield built
    # No execution thread outlives this world (a stopped one retries nothing more).
    helpers.stop_running(built)


@pytest.fixture
def built(aws: None) -> Iterator[world.World]:
    """In-process AWS with the demo world built, nothing seeded; whatever the test starts is
    stopped when it ends, so no execution of it runs on into the next test's world."""
    made = world.build()
    yield made
    helpers.stop_running(made)


def execution_of(built: world.World, kind: str, key: str) -> Execution:
    """The newest execution of the order/closure `key` (they are named kind-key-epoch)."""
    arn = built.order_state_machine_arn if kind == "orders" else built.closure_state_machine_arn
    prefix = f"{'order' if kind == 'orders' else 'closure'}-{key}-"
    summary = next(e for e in stepfunctions.iter_executions(arn) if e.name.startswith(prefix))
    found = stepfunctions.describe_execution(summary.arn)
    assert found is not None
    return found


def settled(built: world.World, kind: str, key: str, timeout: float = 60.0) -> Execution:
    """Wait until the execution is no longer RUNNING."""
    return wait_until(
        lambda: (e := execution_of(built, kind, key)).status != "RUNNING" and e,
        timeout=timeout,
        interval=0.2,
        what=f"{kind} {key} to finish",
    )


def history(execution: Execution) -> list[HistoryEvent]:
    return stepfunctions.get_execution_history(execution.arn)


def states_entered(events: list[HistoryEvent]) -> list[str]:
    return [e.details["name"] for e in events if e.type.endswith("StateEntered")]


def order_items(order_id: str) -> dict[str, dict[str, Any]]:
    return {
        i.values["sk"]: i.values
        for i in dynamodb.query_partition(world.ORDERS_TABLE, "pk", f"ORDER#{order_id}")
    }


def account_items(account_id: str) -> dict[str, dict[str, Any]]:
    return {
        i.values["sk"]: i.values
        for i in dynamodb.query_partition(world.ACCOUNTS_TABLE, "pk", f"ACCOUNT#{account_id}")
    }


def find_message(queue_url: str, predicate: Any, timeout: float = 20.0) -> sqs.Message:
    """A message in the queue matching `predicate(body, message)`; others stay visible."""

    def probe() -> sqs.Message | None:
        for message in sqs.receive_messages(queue_url, max_messages=10, visibility_timeout=0):
            try:
                body = json.loads(message.body)
            except ValueError:
                body = None
            if predicate(body, message):
                return message
        return None

    return wait_until(probe, timeout=timeout, interval=0.1, what="a matching message")


def all_messages(queue_url: str) -> list[sqs.Message]:
    """Every message in a (small) queue, hidden for a minute so each is received once."""
    found: dict[str, sqs.Message] = {}
    expected = sqs.queue_stats(queue_url).visible
    for _ in range(50):
        for m in sqs.receive_messages(queue_url, max_messages=10, visibility_timeout=60):
            found[m.message_id] = m
        if len(found) >= expected:
            break
    for m in found.values():
        sqs.release_message(queue_url, m.receipt_handle)
    return list(found.values())
