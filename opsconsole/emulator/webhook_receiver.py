"""A local webhook receiver: what a subscriber of the console's webhooks would run.

It accepts POSTs on any path, verifies Standard Webhooks signatures with the secret
registered for that path (written independently of the console's signing code, as a real
receiver would), refuses a timestamp older than 5 minutes, and counts each `webhook-id`
once (a redelivered id is answered 200 and recorded as a duplicate, not processed again).

    POST /<path>                      a delivery
    POST /_secret   {path, secret}    register the secret for a path (also a form on /)
    POST /_script   {path, statuses, retry_after}
                                      answer the next deliveries on path with these statuses
    GET  /receipts.json               what arrived (for tests and benchmarks)
    GET  /                            the same, as a page for a person watching the demo
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import logging
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._http import HOST, JsonHandler, Running, Server

log = logging.getLogger("opsconsole.emulator.webhooks")

TOLERANCE = 5 * 60
KEEP = 20000


@dataclass
class Receipt:
    path: str
    webhook_id: str
    timestamp: str
    received_at: float
    event_id: str
    event_type: str
    verified: bool | None  # None: no secret known for the path
    duplicate: bool
    status: int
    signatures: int
    body: str = field(repr=False, default="")


def verify(
    secret: str, webhook_id: str, timestamp: str, signature_header: str, body: bytes
) -> bool:
    key = base64.b64decode(secret.split("_", 1)[1] if secret.startswith("whsec_") else secret)
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    expected = base64.b64encode(mac).decode()
    for part in signature_header.split():
        version, _, value = part.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


class Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.secrets: dict[str, str] = {}
        self.scripts: dict[str, deque[tuple[int, str]]] = {}
        self.receipts: deque[Receipt] = deque(maxlen=KEEP)
        self.seen: set[str] = set()
        self.duplicates = 0

    def set_secret(self, path: str, secret: str) -> None:
        with self.lock:
            self.secrets[path] = secret

    def script(self, path: str, statuses: list[int], retry_after: str = "") -> None:
        with self.lock:
            self.scripts.setdefault(path, deque()).extend((int(s), retry_after) for s in statuses)

    def receive(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        now = time.time()
        webhook_id = headers.get("webhook-id", "")
        timestamp = headers.get("webhook-timestamp", "")
        signature = headers.get("webhook-signature", "")
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
        with self.lock:
            secret = self.secrets.get(path)
            scripted = self.scripts.get(path)
            forced = scripted.popleft() if scripted else None
        verified: bool | None = None
        if secret is not None:
            fresh = timestamp.isdigit() and abs(now - int(timestamp)) <= TOLERANCE
            verified = fresh and verify(secret, webhook_id, timestamp, signature, body)
        status, extra = 200, {}
        answer: dict[str, Any] = {"ok": True}
        if forced is not None:
            status = forced[0]
            if forced[1]:
                extra["retry-after"] = forced[1]
            answer = {"scripted": status}
        elif verified is False:
            status, answer = 401, {"error": "signature does not verify"}
        with self.lock:
            duplicate = status < 300 and webhook_id in self.seen
            if status < 300 and not duplicate:
                self.seen.add(webhook_id)
            if duplicate:
                self.duplicates += 1
                answer = {"ok": True, "duplicate": True}
            self.receipts.append(
                Receipt(
                    path=path,
                    webhook_id=webhook_id,
                    timestamp=timestamp,
                    received_at=now,
                    event_id=str(document.get("id", "")) if isinstance(document, dict) else "",
                    event_type=str(document.get("type", "")) if isinstance(document, dict) else "",
                    verified=verified,
                    duplicate=duplicate,
                    status=status,
                    signatures=len(signature.split()),
                    body=body.decode(errors="replace")[:4000],
                )
            )
        log.info(
            "%s %s %s verified=%s duplicate=%s -> %s",
            path,
            webhook_id,
            document.get("type", "") if isinstance(document, dict) else "",
            verified,
            duplicate,
            status,
        )
        return status, extra, answer

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "receipts": [
                    {k: v for k, v in asdict(r).items() if k != "body"} for r in self.receipts
                ],
                "unique": len(self.seen),
                "duplicates": self.duplicates,
            }


def _handler(receiver: Receiver) -> type[JsonHandler]:
    class Handler(JsonHandler):
        def do_GET(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            if path == "/receipts.json":
                self.send(200, receiver.snapshot())
            elif path == "/":
                self.send_bytes(200, _page(receiver).encode(), "text/html; charset=utf-8")
            else:
                self.send(404, {"error": "GET / or /receipts.json"})

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            body = self.body()
            if path in ("/_secret", "/_script"):
                if self.headers.get("content-type", "").startswith("application/json"):
                    data = json.loads(body or b"{}")
                else:
                    data = {k: v[0] for k, v in parse_qs(body.decode()).items()}
                if path == "/_secret":
                    receiver.set_secret(
                        str(data.get("path", "")), str(data.get("secret", "")).strip()
                    )
                    if "json" not in self.headers.get("content-type", ""):
                        self.send_bytes(303, b"", "text/plain", {"location": "/"})
                        return
                else:
                    receiver.script(
                        str(data.get("path", "")),
                        list(data.get("statuses", [])),
                        str(data.get("retry_after", "")),
                    )
                self.send(200, {"ok": True})
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, answer = receiver.receive(path, headers, body)
            self.send(status, answer, extra)

    return Handler


def _page(receiver: Receiver) -> str:
    snap = receiver.snapshot()
    rows = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(v))}</td>"
            for v in (
                time.strftime("%H:%M:%S", time.gmtime(r["received_at"])),
                r["path"],
                r["event_type"],
                r["webhook_id"],
                {True: "verified", False: "NOT verified", None: "no secret registered"}[
                    r["verified"]
                ],
                "duplicate" if r["duplicate"] else "",
                r["status"],
                r["signatures"],
            )
        )
        + "</tr>"
        for r in reversed(snap["receipts"][-200:])
    )
    return (
        "<!doctype html><title>Local webhook receiver</title><h1>Local webhook receiver</h1>"
        f"<p>{snap['unique']} distinct deliveries, {snap['duplicates']} duplicates dropped.</p>"
        "<form method=post action=/_secret><p>Register the secret shown when you added the "
        "endpoint: path <input name=path value=/hooks/demo> secret <input name=secret size=50>"
        " <button>Save</button></p></form>"
        "<table border=1 cellpadding=4><tr><th>Received (UTC)</th><th>Path</th><th>Event</th>"
        "<th>webhook-id</th><th>Signature</th><th></th><th>Answer</th><th>Signatures</th></tr>"
        + rows
        + "</table>"
    )


class RunningReceiver(Running):
    def __init__(self, server: Server, receiver: Receiver) -> None:
        super().__init__(server)
        self.receiver = receiver


def start(port: int = 0) -> RunningReceiver:
    receiver = Receiver()
    return RunningReceiver(Server((HOST, port), _handler(receiver)), receiver)
