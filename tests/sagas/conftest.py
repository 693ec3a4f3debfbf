"""Fixtures for the sagas tests: the demo world seeded and settled, AWS call counting."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from opsconsole.aws import clients, stepfunctions
from opsconsole.aws.errors import AwsError
from opsconsole.registry import get_registry
from tests.helpers import wait_until

# Sagas the seed leaves waiting on purpose (approval, or a dispatch date hours away).
STAYS_RUNNING = {"8842", "8844", "8850", "77"}


def settle(w: Any, stays_running: set[str] = STAYS_RUNNING, timeout: float = 40.0) -> None:
    """Wait until every execution that is meant to finish has finished."""

    def settled() -> bool:
        for arn in (w.order_state_machine_arn, w.closure_state_machine_arn):
            for e in stepfunctions.iter_executions(arn):
                if e.status == "RUNNING" and e.name.split("-")[1] not in stays_running:
                    return False
        return True

    wait_until(settled, timeout=timeout, interval=0.2, what="seeded sagas to settle")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The list's status counts are cached for a few seconds: no test sees another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def stop_running(w: Any) -> None:
    """Stop what is still running, so no worker thread outlives the test's emulator (moto
    otherwise trips over the leftover executions in the next test)."""
    for arn in (w.order_state_machine_arn, w.closure_state_machine_arn):
        for e in stepfunctions.iter_executions(arn, status="RUNNING"):
            with contextlib.suppress(AwsError):
                stepfunctions.stop_execution(e.arn, "TestOver", "the test ended")


@pytest.fixture
def seeded(aws: None, db: None) -> Iterator[Any]:
    """The demo world with its well-known sagas (9 orders, 5 closures), settled."""
    from opsconsole.emulator import seed, world

    w = world.build()
    seed.seed(orders=9, closures=5, built=w, dead_letters=False)
    settle(w)
    # The waiting ones must have reached their wait before a test reads them.
    wait_until(
        lambda: all(
            any(e.type == "TaskSubmitted" for e in stepfunctions.get_execution_history(x.arn))
            for x in stepfunctions.iter_executions(w.order_state_machine_arn)
            if x.name.split("-")[1] in {"8842", "8844"}
        ),
        timeout=20,
        what="approvals to be requested",
    )
    yield w
    stop_running(w)


@pytest.fixture
def finished_world(aws: None, db: None) -> Any:
    """The demo world with six orders that finish on their own: four confirmed, two
    compensated (declined cards)."""
    from opsconsole.emulator import seed, world

    w = world.build()
    plan = seed.plan(200, 0, well_known=False)
    planned = [p for p in plan if p.outcome == "succeeded"][:4]
    planned += [p for p in plan if p.outcome == "declined"][:2]
    for p in planned:
        stepfunctions.start_execution(
            w.order_state_machine_arn, seed.execution_name(p.kind, p.key, 1), p.payload
        )
    settle(w, set())
    return w


@pytest.fixture
def aws_calls(aws: None) -> Iterator[Counter[str]]:
    """Counts every AWS operation the console's clients make (by operation name)."""
    counts: Counter[str] = Counter()
    registry = get_registry()
    envs = {registry.env_for(k) for k in registry.kinds.values()}

    def count(model: Any = None, **_: Any) -> None:
        if model is not None:
            counts[model.name] += 1

    hooked = []
    for env in envs:
        for service in ("stepfunctions", "dynamodb"):
            c = clients.client(service, env)
            c.meta.events.register("before-call", count)
            hooked.append(c)
    yield counts
    for c in hooked:
        c.meta.events.unregister("before-call", count)
