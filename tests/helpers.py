"""Test helpers: waiting on real asynchronous behaviour without sleeping blindly, and the
in-process AWS worlds (fresh ones, and shared read-only ones set aside between tests)."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last: T = probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or probe}")
        time.sleep(interval)
        last = probe()
    return last


# --- in-process AWS worlds -----------------------------------------------------------------
#
# moto keeps one process-global store of backends (BackendDict). A *shared* world is built
# once, then its backends are taken out of that store ("parked") and put back only while a
# test that reads it runs, so tests with a world of their own (the `aws` fixture) never see
# it and never wipe it. Executions run in threads: a shared world is settled before it is
# parked, and only executions waiting for a person or a date (idle threads) remain.

AWS_TEST_SETTINGS: dict[str, Any] = {
    "AWS_ENDPOINT_URL": None,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
MOTO_CONFIG: dict[str, Any] = {"stepfunctions": {"execute_state_machine": True}}
# Sagas the demo seed leaves waiting on purpose (approval, or a dispatch date hours away).
STAYS_RUNNING = frozenset({"8842", "8844", "8850", "77"})


def reset_aws_caches() -> None:
    """Forget the console's boto3 clients and registry (they are built from settings)."""
    from opsconsole.aws import clients
    from opsconsole.registry import reset_registry

    clients.reset_clients()
    reset_registry()


def _moto_is_active() -> bool:
    from moto.core.models import MockAWS

    return MockAWS._nested_count > 0


@dataclass
class ParkedBackends:
    """The contents of moto's backend store, taken out of it."""

    contents: list[tuple[Any, dict[str, Any]]]


def take_out_backends() -> ParkedBackends:
    """Remove every backend from moto's store (moto's reset then no longer reaches them)."""
    from moto.core.base_backend import BackendDict, backend_lock

    with backend_lock:
        contents = [(store, dict(store)) for store in BackendDict._instances]
        for store, _ in contents:
            dict.clear(store)
        BackendDict._instances.clear()
    return ParkedBackends(contents)


def put_back_backends(parked: ParkedBackends) -> None:
    """Make a parked world the current one (what the store held before is reset)."""
    from moto.core.base_backend import BackendDict, backend_lock

    BackendDict.reset()
    with backend_lock:
        for store, content in parked.contents:
            dict.update(store, content)
            if store not in BackendDict._instances:
                BackendDict._instances.append(store)


def settle(w: Any, stays_running: Iterable[str] = STAYS_RUNNING, timeout: float = 40.0) -> None:
    """Wait until every execution that is meant to finish has finished."""
    from opsconsole.aws import stepfunctions

    waiting = set(stays_running)

    def settled() -> bool:
        for arn in (w.order_state_machine_arn, w.closure_state_machine_arn):
            for e in stepfunctions.iter_executions(arn):
                if e.status == "RUNNING" and e.name.split("-")[1] not in waiting:
                    return False
        return True

    wait_until(settled, timeout=timeout, interval=0.1, what="seeded sagas to settle")


def wait_for_waiting_sagas(w: Any) -> None:
    """Until the seed's waiting sagas have reached their wait (approval sent, timer set)."""
    from opsconsole.aws import stepfunctions

    def last_event(x: Any) -> str:
        events = stepfunctions.get_execution_history(x.arn)
        return events[-1].type if events else ""

    def reached() -> bool:
        for arn in (w.order_state_machine_arn, w.closure_state_machine_arn):
            for x in stepfunctions.iter_executions(arn, status="RUNNING"):
                if last_event(x) not in ("TaskSubmitted", "WaitStateEntered"):
                    return False
        return True

    wait_until(reached, timeout=20, interval=0.1, what="the waiting sagas to reach their wait")


def stop_running(w: Any) -> None:
    """Stop what is still running in every state machine (the sagas and the intake that
    starts orders), so no worker thread outlives its emulator (moto otherwise trips over
    the leftover executions in the next test)."""
    from opsconsole.aws import stepfunctions
    from opsconsole.aws.errors import AwsError

    arns = {w.order_state_machine_arn, w.closure_state_machine_arn}
    arns |= {sm.arn for sm in stepfunctions.list_state_machines()}
    for arn in sorted(arns):
        for e in stepfunctions.iter_executions(arn, status="RUNNING"):
            # An execution that ends (or has not begun) while it is being stopped: moto's
            # worker has no environment then and raises AttributeError in process.
            with contextlib.suppress(AwsError, AttributeError):
                stepfunctions.stop_execution(e.arn, "TestOver", "the test ended")


# Queues whose messages are derived from the rest of the world, not part of it: the Step
# Functions status change events (config/demo.yaml saga_sync). Events may arrive late, twice
# or be read by a sync as hints; the executions they describe are fingerprinted themselves.
DERIVED_QUEUES = frozenset({"opsconsole-sfn-status"})


def world_fingerprint() -> dict[str, Any]:
    """What a read-only test must leave as it found it: every execution (status, history
    length), every queue's messages (and whether each is visible), every table's items.

    Read from moto's backends directly: through the API this costs more than most tests."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    found: dict[str, Any] = {}
    for _account, _region, sfn in stepfunctions_parser_backends.iter_backends():
        for machine in sfn.state_machines:
            for e in machine.executions:
                env = getattr(getattr(e, "exec_worker", None), "env", None)
                events = len(env.event_manager.get_event_history()) if env is not None else None
                found[e.exec_arn] = (str(e.status), events)
    for _account, _region, sqs in sqs_backends.iter_backends():
        for name, queue in sqs.queues.items():
            if name in DERIVED_QUEUES:
                continue
            found[f"queue:{name}"] = sorted((m.id, m.visible) for m in queue._messages)
    for _account, _region, ddb in dynamodb_backends.iter_backends():
        for name, table in ddb.tables.items():
            items = (
                json.dumps(i.to_json(), sort_keys=True, default=str) for i in table.all_items()
            )
            found[f"table:{name}"] = sorted(items)
    return found


@dataclass
class SharedWorld:
    """A world built once and lent to read-only tests (see `lend`)."""

    name: str
    world: Any
    parked: ParkedBackends
    fingerprint: dict[str, Any] = field(default_factory=dict)
    broken: str = ""


@contextlib.contextmanager
def in_own_moto() -> Iterator[None]:
    """Settings and caches for the in-process AWS, and moto's mock (outermost: a shared
    world must never be nested inside another world)."""
    from django.test import override_settings
    from moto import mock_aws

    if _moto_is_active():
        raise RuntimeError(
            "an in-process AWS world is already active: a test may use one world only "
            "(either `aws` and the fixtures built on it, or one *_readonly world)"
        )
    with override_settings(**AWS_TEST_SETTINGS):
        reset_aws_caches()
        try:
            with mock_aws(config=MOTO_CONFIG):
                yield
        finally:
            reset_aws_caches()


def _settled_fingerprint(quiet: float = 0.2, at_most: float = 10.0) -> dict[str, Any]:
    """The fingerprint once two readings `quiet` seconds apart agree: an execution's status
    change event reaches its queue just after the execution ends (from the engine's thread),
    later still on a loaded machine."""
    import time

    seen = world_fingerprint()
    deadline = time.monotonic() + at_most
    while time.monotonic() < deadline:
        time.sleep(quiet)
        again = world_fingerprint()
        if again == seen:
            break
        seen = again
    return seen


def build_shared(name: str, make: Callable[[], Any]) -> SharedWorld:
    """Build a world with `make()` (which must leave it settled), then park it."""
    with in_own_moto():
        built = make()
        fingerprint = _settled_fingerprint()
        parked = take_out_backends()
    return SharedWorld(name=name, world=built, parked=parked, fingerprint=fingerprint)


@contextlib.contextmanager
def lend(shared: SharedWorld) -> Iterator[Any]:
    """Make the shared world current for one read-only test; fail the test if it changed
    the world (and refuse the world to later tests, which would read a changed one)."""
    if shared.broken:
        raise AssertionError(f"the shared world {shared.name} was changed by {shared.broken}")
    with in_own_moto():
        put_back_backends(shared.parked)
        try:
            yield shared.world
        finally:
            after = world_fingerprint()
            shared.parked = take_out_backends()
    if after != shared.fingerprint:
        import os

        shared.broken = os.environ.get("PYTEST_CURRENT_TEST", "a test").split(" ")[0]
        changed = sorted(
            k
            for k in set(after) | set(shared.fingerprint)
            if after.get(k) != shared.fingerprint.get(k)
        )
        raise AssertionError(
            f"a test changed the shared read-only world {shared.name} "
            f"({', '.join(changed)[:500]}); give it a world of its own"
        )


def discard_shared(shared: SharedWorld) -> None:
    """Stop the shared world's waiting executions and drop it."""
    with in_own_moto():
        put_back_backends(shared.parked)
        stop_running(shared.world)
