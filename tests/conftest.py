"""Shared fixtures: an in-process AWS world (moto, state machines really executed) and one
signed-in client per role.

Worlds: `aws` is an empty world of the test's own (build and mutate at will);
`seeded_world_readonly` is the demo world, seeded and settled once per process and lent to
tests that only read it (see tests/helpers.py). A test uses one world.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from moto import mock_aws

from opsconsole.aws import clients
from opsconsole.emulator import (
    cloudwatch_index,
    events_replay,
    moto_main,
    sfn_definitions,
    sfn_events,
    sfn_redrive,
    throttling,
)
from opsconsole.registry import reset_registry
from tests import helpers

ROLES = ("viewer", "operator", "approver", "admin")


def pytest_configure(config: pytest.Config) -> None:
    """Make the in-process moto execute state machines without repeated work.

    The emulator process's caches (see opsconsole/emulator/moto_main.py): moto's Step
    Functions engine otherwise builds a new boto3 client for every task, parses the ASL
    again for every execution and builds a new JSONPath parser for every path. They keep
    moto's behaviour (tests/emulator/test_moto_main.py checks it) and cut the time of an
    executed order several-fold. Applied once per process (each xdist worker too).
    """
    moto_main.guard_callback_race()
    importlib.import_module("opsconsole.emulator.sqs_move_tasks").install()
    moto_main.cache_task_clients()
    moto_main.cache_parsed_definitions()
    moto_main.cache_json_paths()
    cloudwatch_index.index_metric_data()
    throttling.install()
    sfn_events.install()
    sfn_redrive.install()
    sfn_definitions.install()
    events_replay.install()
    _validate_each_definition_once()


def _validate_each_definition_once() -> None:
    """moto parses a definition to validate it on every CreateStateMachine (about 0.5 s for
    the order saga), and most tests create the same two state machines: remember the
    definitions that passed. An invalid one is still parsed, and refused, every time."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend._validate_definition
    valid: set[str] = set()

    def validate(definition: str) -> None:
        if definition not in valid:
            original(definition)
            valid.add(definition)

    StepFunctionsParserBackend._validate_definition = staticmethod(validate)  # type: ignore[method-assign]


@pytest.fixture
def aws(settings: Any) -> Iterator[None]:
    """An empty in-process AWS (moto) whose Step Functions really execute state machines."""
    if helpers._moto_is_active():
        raise RuntimeError("`aws` cannot be combined with another world (a *_readonly one)")
    for name, value in helpers.AWS_TEST_SETTINGS.items():
        setattr(settings, name, value)
    clients.reset_clients()
    reset_registry()
    with mock_aws(config=helpers.MOTO_CONFIG):
        yield
    clients.reset_clients()
    reset_registry()


@pytest.fixture(scope="session")
def _seeded_world_shared() -> Iterator[helpers.SharedWorld]:
    """The demo world with its well-known sagas (9 orders, 5 closures), dead letters and
    archived events, settled; built once per process and parked between its tests."""
    from opsconsole.emulator import seed, world

    def make() -> world.World:
        built = world.build()
        seed.seed(orders=9, closures=5, built=built)
        helpers.settle(built)
        helpers.wait_for_waiting_sagas(built)
        return built

    shared = helpers.build_shared("seeded_world_readonly", make)
    yield shared
    helpers.discard_shared(shared)


@pytest.fixture
def seeded_world_readonly(_seeded_world_shared: helpers.SharedWorld) -> Iterator[Any]:
    """READ-ONLY: the seeded demo world shared by every test that requests it (no reseed).

    Everything that was meant to finish has finished; 8842 and 8844 wait at AwaitApproval,
    closure 77 waits for its approval, 8850 waits for its dispatch date. A test may read
    anything (histories, items, messages received with visibility 0 or released again) and
    must change nothing: no approvals answered, no executions started or stopped, no items
    written, no message left in flight. The fixture fails a test that changed the world
    (executions, queue depths, table items are compared). Tests that change it use a world
    of their own (`aws`, or their package's fresh `seeded`). Not combinable with `aws`.
    """
    with helpers.lend(_seeded_world_shared) as built:
        yield built


def make_user(role: str | None, username: str | None = None, email: str | None = None) -> Any:
    from django.contrib.auth import get_user_model

    from opsconsole.identity.models import StaffProfile

    name = username or f"{role or 'norole'}-user"
    user = get_user_model().objects.create_user(username=name, email=email or f"{name}@example.com")
    StaffProfile.objects.create(user=user, role=role or "", oidc_sub=name)
    return user


def signed_in_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    now = timezone.now().timestamp()
    session["signed_in_at"] = now
    session["last_seen_at"] = now
    session.save()
    return client


@pytest.fixture
def users(db: None) -> dict[str, Any]:
    """One user per role, named after it (viewer, operator, approver, admin)."""
    return {role: make_user(role, username=role) for role in ROLES}


@pytest.fixture
def clients_by_role(users: dict[str, Any]) -> dict[str, Client]:
    return {role: signed_in_client(user) for role, user in users.items()}


@pytest.fixture
def viewer_client(clients_by_role: dict[str, Client]) -> Client:
    return clients_by_role["viewer"]


@pytest.fixture
def operator_client(clients_by_role: dict[str, Client]) -> Client:
    return clients_by_role["operator"]


@pytest.fixture
def approver_client(clients_by_role: dict[str, Client]) -> Client:
    return clients_by_role["approver"]


@pytest.fixture
def admin_client_(clients_by_role: dict[str, Client]) -> Client:
    return clients_by_role["admin"]
