"""AWS that hangs or refuses: pages answer quickly from what the console already knows.

A black hole (a TCP server that accepts and never answers) is what an outage often looks
like; a refusing port is the other common shape. Neither may hold a page for more than about
two seconds, nor take the web process out of the load balancer.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.urls import reverse

from opsconsole.aws import clients
from opsconsole.registry import reset_registry

pytestmark = pytest.mark.django_db
# The test machine's read timeout for pages (the default is 1.2 s).
READ_TIMEOUT = 1.0
# What a page's own work may add, on a test machine whose cores other workers share, before
# it is clearly waiting on something it should not (a background timeout is 10 s). The 2 s
# target itself is measured on a quiet machine by bench/faults.py, which runs this suite.
HANG_SECONDS = 5.0


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


@pytest.fixture
def throttling() -> Iterator[str]:
    """An AWS that answers every call at once with ThrottlingException (as AWS does when the
    account's token bucket is empty)."""

    class Throttle(BaseHTTPRequestHandler):
        def _throttle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("x-amzn-ErrorType", "ThrottlingException")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_POST = do_PUT = do_DELETE = _throttle

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _point_aws_at(settings: Any, url: str) -> None:
    settings.AWS_ENDPOINT_URL = url
    settings.AWS_INTERACTIVE_READ_TIMEOUT = READ_TIMEOUT
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"  # noqa: S105
    clients.reset_clients()
    reset_registry()


@pytest.fixture(params=["black_hole", "refusing", "throttling"])
def broken_aws(request: Any, settings: Any) -> Iterator[str]:
    _point_aws_at(settings, request.getfixturevalue(request.param))
    yield request.param
    clients.reset_clients()
    reset_registry()


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def aws_wait(response: Any) -> float:
    """What the page says it waited on AWS (its Server-Timing), in seconds."""
    timing = response.headers.get("Server-Timing", "")
    for metric in timing.split(","):
        name, _, params = metric.strip().partition(";")
        if name == "aws":
            for param in params.split(";"):
                key, _, value = param.partition("=")
                if key.strip() == "dur":
                    return float(value) / 1000
    return 0.0


def _record(name: str, fault: str, took: float, waited: float) -> None:
    """bench/faults.py runs this suite with OPSCONSOLE_FAULT_TIMINGS set and reads these."""
    path = os.environ.get("OPSCONSOLE_FAULT_TIMINGS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps({"url": name, "fault": fault, "took": took, "aws": waited}))
            out.write("\n")


def test_it_stays_ready_and_says_aws_is_unreachable_after_one_timeout(client, broken_aws):
    client.get("/healthz")  # the process's first request pays for loading the URLconf
    response, took = _timed(lambda: client.get("/readyz"))
    body = response.json()
    assert took < HANG_SECONDS, f"/readyz took {took:.1f}s with AWS {broken_aws}: {body}"
    assert aws_wait(response) < READ_TIMEOUT + 0.5, response.headers.get("Server-Timing")
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["aws"]["ok"] is False and body["checks"]["aws"]["required"] is False


def test_it_shows_a_case_page_that_was_never_cached_after_one_timeout(viewer_client, broken_aws):
    from tests.sagas.factories import make_saga

    saga = make_saga("orders", "8842", "running")
    viewer_client.get("/sagas/orders/")  # warm: templates compiled, URLconf loaded
    first, took = _timed(lambda: viewer_client.get(f"/sagas/orders/{saga.business_key}/"))
    assert first.status_code == 200
    assert took < HANG_SECONDS, f"case page took {took:.1f}s with AWS {broken_aws}"
    assert aws_wait(first) < READ_TIMEOUT + 0.5, first.headers.get("Server-Timing")
    assert "8842" in first.content.decode()
    # Unreachable: the circuit is open now, and the next page does not call at all until it
    # probes again. Throttled: AWS answered, so the circuit stays closed.
    assert ("stepfunctions in demo" in clients.open_circuits()) is (broken_aws != "throttling")
    second, again = _timed(lambda: viewer_client.get(f"/sagas/orders/{saga.business_key}/"))
    assert second.status_code == 200 and again < HANG_SECONDS
    if broken_aws != "throttling":
        assert "Server-Timing" not in second.headers, second.headers["Server-Timing"]  # no call


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


def _url_names() -> list[str]:
    from tests.identity.test_permission_matrix import url_names

    return url_names()


@pytest.mark.parametrize("name", _url_names())
def test_it_answers_every_url_after_at_most_one_timeout_and_never_5xx_while_aws_fails(
    name, users, request, settings, black_hole, refusing, throttling
):
    # Each URL of the permission matrix, as an admin (who may see and do everything), under
    # each fault: the status it answers when AWS is healthy (an action may answer with a
    # documented refusal instead), within the budget, never a server error.
    from django.core.cache import cache

    from tests.identity.test_permission_matrix import _clients, _expected, entries

    access, _module = entries()[name]
    for fixture in access.fixtures:
        request.getfixturevalue(fixture)
    kwargs = access.kwargs() if callable(access.kwargs) else access.kwargs
    url = reverse(name, kwargs=kwargs or None) + (f"?{access.query}" if access.query else "")
    admin = _clients(users)["admin"]
    admin.get("/healthz")  # warm: the URLconf is loaded before anything is timed
    normal = _expected(access.statuses["admin"])
    # Warm too, untimed: the view's first call in this process pays for its templates and
    # serializers, which is not AWS time; an AWS that refuses at once costs nothing more.
    _point_aws_at(settings, refusing)
    getattr(admin, access.method.lower())(url, data=access.data or {}, headers=access.headers)
    answers = []
    for fault, endpoint in (
        ("black hole", black_hole),
        ("refusing", refusing),
        ("throttling", throttling),
    ):
        cache.clear()
        _point_aws_at(settings, endpoint)
        send = getattr(admin, access.method.lower())
        response, took = _timed(
            lambda send=send: send(url, data=access.data or {}, headers=access.headers)
        )
        waited = aws_wait(response)
        answers.append((fault, response.status_code, round(took, 2), round(waited, 2)))
        _record(name, fault, took, waited)
        assert response.status_code < 500, f"{name} under {fault}: {response.status_code}"
        # A hanging AWS costs the page one timeout, not one per call: after it, the page's
        # other calls to that environment fail fast and it answers with what it has.
        assert waited < READ_TIMEOUT + 0.5, f"{name} under {fault}: {answers}"
        assert took < HANG_SECONDS, f"{name} under {fault}: {answers}"
        if access.method == "GET":
            assert response.status_code in normal, f"{name} under {fault}: {answers}"
    clients.reset_clients()
    reset_registry()


def test_it_names_what_is_unreachable_on_every_page_while_the_circuit_is_open(
    viewer_client, settings, refusing
):
    from tests.sagas.factories import make_saga

    _point_aws_at(settings, refusing)
    saga = make_saga("orders", "8842", "running")
    assert "AWS is not answering" not in viewer_client.get("/").content.decode()
    viewer_client.get(
        f"/sagas/orders/{saga.business_key}/"
    )  # finds AWS refusing: the circuit opens
    home = viewer_client.get("/").content.decode()
    assert "AWS is not answering" in home and "stepfunctions in demo" in home
    clients.reset_clients()
    reset_registry()


def test_it_stops_calling_a_slow_aws_once_the_page_has_waited_its_budget(settings):
    # AWS that answers, slowly: no circuit opens, so without a budget a page making many
    # calls would wait for every one of them.
    asked: list[str] = []

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            asked.append(self.headers.get("X-Amz-Target", ""))
            time.sleep(0.3)  # the slow AWS under test, not the test waiting for something
            body = json.dumps({"__type": "ResourceNotFound", "message": "no such thing"})
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _point_aws_at(settings, f"http://127.0.0.1:{server.server_address[1]}")
        settings.AWS_INTERACTIVE_PAGE_SECONDS = 0.5
        outcomes = []
        with clients.interactive():
            sfn = clients.client("stepfunctions")
            for _ in range(4):
                try:
                    sfn.describe_state_machine(stateMachineArn=ARN)
                except Exception as exc:  # noqa: BLE001 - what each call ended with
                    outcomes.append(type(exc).__name__)
            spent = clients.page_time()
        assert len(asked) == 2  # 0.3 s, then 0.6 s in all: the budget of 0.5 s is spent
        assert outcomes[2:] == ["PageBudgetSpent", "PageBudgetSpent"]
        assert spent is not None and spent.calls == 2 and spent.cut_short == 2
    finally:
        server.shutdown()
        server.server_close()
        clients.reset_clients()
        reset_registry()


ARN = "arn:aws:states:eu-west-1:123456789012:stateMachine:orders"


def test_a_look_on_a_slow_aws_answers_what_it_read_and_releases_it(settings, monkeypatch):
    # The page's AWS time runs out in the middle of a look: it answers what it read so far
    # (not "complete", so nothing unseen is marked gone) and still makes every message it
    # held visible again, though the page's budget is spent.
    from opsconsole.aws import sqs
    from opsconsole.aws.errors import PageBudgetSpent

    released: list[list[str]] = []

    class SlowSqs:
        def receive_message(self, **kwargs: Any) -> dict[str, Any]:
            page = clients.page_time()
            assert page is not None
            if page.seconds >= settings.AWS_INTERACTIVE_PAGE_SECONDS:
                raise PageBudgetSpent("spent")
            page.spend(0.6)  # each receive of a slow AWS
            n = page.calls
            return {"Messages": [_sqs_message(f"m{n}-{i}") for i in range(10)]}

        def change_message_visibility_batch(self, **kwargs: Any) -> dict[str, Any]:
            released.append([e["ReceiptHandle"] for e in kwargs["Entries"]])
            return {"Failed": []}

    monkeypatch.setattr(sqs, "client", lambda *a, **k: SlowSqs())
    monkeypatch.setattr(sqs, "_require_url", lambda name, env=None: name)
    settings.AWS_INTERACTIVE_PAGE_SECONDS = 1.0
    with clients.interactive():
        peeked = sqs.peek("payments-dlq", limit=100)
    assert len(peeked.messages) == 20 and not peeked.exhausted
    assert sum(len(batch) for batch in released) == 20


def _sqs_message(mid: str) -> dict[str, Any]:
    return {"MessageId": mid, "ReceiptHandle": f"rh-{mid}", "Body": "{}", "Attributes": {}}
