"""Shared fixtures: an in-process AWS world (moto, state machines really executed) and one
signed-in client per role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from moto import mock_aws

from opsconsole.aws import clients
from opsconsole.emulator.moto_main import guard_callback_race
from opsconsole.registry import reset_registry

ROLES = ("viewer", "operator", "approver", "admin")


@pytest.fixture
def aws(settings: Any) -> Iterator[None]:
    """An empty in-process AWS (moto) whose Step Functions really execute state machines."""
    settings.AWS_ENDPOINT_URL = None
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"  # noqa: S105
    clients.reset_clients()
    reset_registry()
    guard_callback_race()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield
    clients.reset_clients()
    reset_registry()


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
