"""Fixtures for sign-in tests: the real local OIDC provider, and a helper that walks the
authorization-code flow through it with Django's test client (console side) and requests
(browser on the provider's side)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core.cache import cache
from django.test import Client

CALLBACK = "http://testserver/oidc/callback/"


@pytest.fixture
def oidc_provider(settings: Any) -> Iterator[Any]:
    """The demo's local provider in a thread on an ephemeral port; the console points at it."""
    from opsconsole.emulator import oidc

    handle = oidc.start(0, redirect_uris=[CALLBACK], write_demo_users=False)
    for name, value in handle.endpoints.items():
        setattr(settings, name, value)
    cache.clear()  # cached signing keys belong to another provider instance
    try:
        yield handle
    finally:
        handle.stop()
        cache.clear()


@dataclass
class Flow:
    """One sign-in in progress: the provider's authorize URL and what the console sent."""

    client: Client
    authorize_url: str

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.authorize_url).query).items()}

    def approve(self, sub: str) -> str:
        """Sign in as `sub` on the provider's page; return the callback path + query."""
        response = requests.post(
            self.authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5
        )
        assert response.status_code == 302, response.text[:500]
        location = response.headers["Location"]
        assert location.startswith(CALLBACK), location
        parts = urlsplit(location)
        return f"{parts.path}?{parts.query}"

    def finish(self, callback: str) -> Any:
        return self.client.get(callback)


def begin(client: Client, next_url: str = "") -> Flow:
    url = "/oidc/authenticate/" + (f"?next={next_url}" if next_url else "")
    response = client.get(url)
    assert response.status_code == 302
    return Flow(client=client, authorize_url=response["Location"])


def sign_in(client: Client, sub: str) -> Any:
    flow = begin(client)
    return flow.finish(flow.approve(sub))


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def forger(settings: Any) -> Iterator[Any]:
    """A provider stand-in that signs whatever ID token the test sets up."""
    from tests.identity.forger import running_forger

    with running_forger() as forged:
        for name, value in forged.endpoints().items():
            setattr(settings, name, value)
        cache.clear()
        yield forged
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Lockouts, throttles and cached keys never leak from one test into the next."""
    cache.clear()
    yield
    cache.clear()
