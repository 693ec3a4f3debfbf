"""AWS that hangs or refuses: pages answer quickly from what the console already knows.

A black hole (a TCP server that accepts and never answers) is what an outage often looks
like; a refusing port is the other common shape. Neither may hold a page for more than about
two seconds, nor take the web process out of the load balancer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from opsconsole.aws import clients
from opsconsole.registry import reset_registry

pytestmark = pytest.mark.django_db
BUDGET_SECONDS = 2.0


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A TCP endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=2)
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def refusing() -> str:
    """A port nothing listens on: every connection is refused at once."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"


def _point_aws_at(settings: Any, url: str) -> None:
    settings.AWS_ENDPOINT_URL = url
    # The default is 1.2 s; a little less leaves room for a busy test machine's own
    # slowness within the two-second budget (the profile is what is under test).
    settings.AWS_INTERACTIVE_READ_TIMEOUT = 1.0
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"  # noqa: S105
    clients.reset_clients()
    reset_registry()


@pytest.fixture(params=["black_hole", "refusing"])
def broken_aws(request: Any, settings: Any) -> Iterator[str]:
    _point_aws_at(settings, request.getfixturevalue(request.param))
    yield request.param
    clients.reset_clients()
    reset_registry()


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_it_stays_ready_and_says_aws_is_unreachable_within_two_seconds(client, broken_aws):
    client.get("/healthz")  # the process's first request pays for loading the URLconf
    response, took = _timed(lambda: client.get("/readyz"))
    body = response.json()
    assert took < BUDGET_SECONDS, f"/readyz took {took:.1f}s with AWS {broken_aws}: {body}"
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["aws"]["ok"] is False and body["checks"]["aws"]["required"] is False


def test_it_shows_a_case_page_that_was_never_cached_within_two_seconds(viewer_client, broken_aws):
    from tests.sagas.factories import make_saga

    saga = make_saga("orders", "8842", "running")
    viewer_client.get("/sagas/orders/")  # warm: templates compiled, URLconf loaded
    first, took = _timed(lambda: viewer_client.get(f"/sagas/orders/{saga.pk}/"))
    assert first.status_code == 200
    assert took < BUDGET_SECONDS, f"case page took {took:.1f}s with AWS {broken_aws}"
    assert "8842" in first.content.decode()
    # The circuit is open now: the next page does not call at all until it probes again.
    assert "stepfunctions in demo" in clients.open_circuits()
    second, again = _timed(lambda: viewer_client.get(f"/sagas/orders/{saga.pk}/"))
    assert second.status_code == 200 and again < BUDGET_SECONDS


def test_it_keeps_background_work_on_the_patient_profile(settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    clients.reset_clients()
    background = clients.client("sqs")
    with clients.interactive():
        page = clients.client("sqs")
    assert page is not background
    assert page.meta.config.read_timeout == settings.AWS_INTERACTIVE_READ_TIMEOUT
    assert background.meta.config.read_timeout == settings.AWS_READ_TIMEOUT
    clients.reset_clients()
