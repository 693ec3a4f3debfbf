"""Every URL x {anonymous, viewer, operator, approver, admin, token} -> the expected status.

Deny by default: a URL without an entry fails here, by name. Entries live next to each app's
tests in `tests/<app>/url_permissions.py` (a dict `URL_PERMISSIONS` keyed by URL name); the
vocabulary (`page`, `api`, `public`, `Access`) is in tests/identity/matrix.py.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.identity.matrix import COLUMNS, TOKEN_ROLE, Access

TESTS = Path(__file__).resolve().parents[1]


def url_names() -> list[str]:
    """Every route's qualified name ("ns:name"); unnamed routes show as '<unnamed ...>'."""
    names: list[str] = []

    def walk(patterns: list[Any], namespace: str, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                ns = pattern.namespace
                walk(
                    pattern.url_patterns,
                    f"{namespace}{ns}:" if ns else namespace,
                    prefix + str(pattern.pattern),
                )
            elif isinstance(pattern, URLPattern):
                if pattern.name:
                    names.append(f"{namespace}{pattern.name}")
                else:
                    names.append(f"<unnamed {prefix}{pattern.pattern}>")

    walk(get_resolver().url_patterns, "", "/")
    return sorted(set(names))


def entries() -> dict[str, tuple[Access, str]]:
    """All declared entries with the module that declared them; duplicates fail loudly."""
    from tests.identity.url_permissions import PROVISIONAL

    found: dict[str, tuple[Access, str]] = {}
    for path in sorted(TESTS.glob("*/url_permissions.py")):
        module_name = f"tests.{path.parent.name}.url_permissions"
        module = importlib.import_module(module_name)
        for name, access in getattr(module, "URL_PERMISSIONS", {}).items():
            if name in found:
                raise AssertionError(
                    f"{name} is declared in both {found[name][1]} and {module_name}"
                )
            found[name] = (access, module_name)
    for name, access in PROVISIONAL.items():
        found.setdefault(name, (access, "tests.identity.url_permissions.PROVISIONAL"))
    return found


def test_it_has_no_entries_for_urls_that_no_longer_exist():
    stale = sorted(set(entries()) - set(url_names()))
    assert not stale, f"permission-matrix entries for URLs that do not exist: {stale}"


def _clients(users: dict[str, Any]) -> dict[str, Client]:
    from opsconsole.audit.log import Actor
    from opsconsole.identity.actions import issue_api_token
    from tests.conftest import signed_in_client

    _, raw = issue_api_token(Actor.system("matrix"), "matrix-token", TOKEN_ROLE)
    clients = {"anonymous": Client(), "token": Client(headers={"Authorization": f"Bearer {raw}"})}
    clients.update({role: signed_in_client(user) for role, user in users.items()})
    return clients


def _expected(status: Any) -> tuple[int, ...]:
    return status if isinstance(status, tuple) else (status,)


@pytest.mark.django_db
@pytest.mark.parametrize("name", url_names())
def test_it_answers_each_caller_as_the_matrix_says(name, users, request, settings):
    declared = entries()
    if name not in declared:
        pytest.fail(
            f"URL {name!r} has no entry in the permission matrix (deny by default). "
            "Add it to URL_PERMISSIONS in tests/<app>/url_permissions.py "
            "(see tests/identity/matrix.py)."
        )
    access, module = declared[name]
    from django.core.cache import cache

    cache.clear()  # no throttle state from other tests
    for fixture in access.fixtures:
        request.getfixturevalue(fixture)
    kwargs = access.kwargs() if callable(access.kwargs) else access.kwargs
    url = reverse(name, kwargs=kwargs or None) + (f"?{access.query}" if access.query else "")
    clients = _clients(users)
    wrong = []
    # Admin last: a state-changing request allowed to admins runs once, after the refusals.
    for column in sorted(COLUMNS, key=lambda c: c == "admin"):
        client = clients[column]
        send = getattr(client, access.method.lower())
        response = send(url, data=access.data or {}, headers=access.headers)
        if response.status_code not in _expected(access.statuses[column]):
            wrong.append(
                f"{column}: expected {access.statuses[column]}, got {response.status_code}"
            )
    assert not wrong, f"{access.method} {url} ({name}, declared in {module}):\n  " + "\n  ".join(
        wrong
    )
