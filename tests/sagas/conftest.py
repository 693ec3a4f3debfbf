"""Fixtures for the sagas tests: the demo world seeded and settled, AWS call counting."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from opsconsole.aws import clients, stepfunctions
from opsconsole.registry import get_registry
from tests import helpers
from tests.helpers import wait_until

# Re-exported for the tests that import them from here.
STAYS_RUNNING = helpers.STAYS_RUNNING
settle = helpers.settle
stop_running = helpers.stop_running


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The list's status counts are cached for a few seconds: no test sees another's."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def seeded(aws: None, db: None) -> Iterator[Any]:
    """The demo world with its well-known sagas (9 orders, 5 closures), settled: a world of
    the test's own, for tests that change it (readers use `seeded_world_readonly`)."""
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


def _start_finished_orders() -> Any:
    """Six orders that finish on their own: four confirmed, two compensated (declined)."""
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


@pytest.fixture(scope="session")
def _finished_world_shared() -> Iterator[helpers.SharedWorld]:
    shared = helpers.build_shared("finished_world_readonly", _start_finished_orders)
    yield shared
    helpers.discard_shared(shared)


@pytest.fixture
def finished_world_readonly(_finished_world_shared: helpers.SharedWorld, db: None) -> Iterator[Any]:
    """READ-ONLY: the demo world with six orders that finished on their own (four confirmed,
    two compensated: declined cards), built once per process and shared by the tests that
    request it. Tests may read AWS (and write the read model, which is rolled back) but
    must change nothing in the world: the fixture fails a test that did (see
    `seeded_world_readonly`). A test that changes it builds its own world on `aws`."""
    with helpers.lend(_finished_world_shared) as built:
        yield built


@pytest.fixture
def aws_calls() -> Iterator[Counter[str]]:
    """Counts every AWS operation the console's clients make (by operation name).

    Request it after the world the test uses (`aws`, `seeded`, a *_readonly world)."""
    if not helpers._moto_is_active():
        raise RuntimeError("aws_calls counts calls to a world: request a world fixture first")
    counts: Counter[str] = Counter()
    registry = get_registry()
    envs = {registry.env_for(k) for k in registry.kinds.values()}

    def count(model: Any = None, **_: Any) -> None:
        if model is not None:
            counts[model.name] += 1

    hooked = []
    for env in envs:
        for service in ("stepfunctions", "dynamodb"):
            # Pages call through the interactive client, background work through the other.
            for c in clients.both_profiles(service, env):
                c.meta.events.register("before-call", count)
                hooked.append(c)
    yield counts
    for c in hooked:
        c.meta.events.unregister("before-call", count)
