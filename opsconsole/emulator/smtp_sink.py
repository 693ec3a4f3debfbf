"""A local SMTP sink (aiosmtpd): keeps every mail the console sends and logs its headers,
so the demo's email channel and webhook-owner notices can be seen without a mail server."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger("opsconsole.emulator.mail")

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Mail:
    sender: str
    to: tuple[str, ...]
    subject: str
    body: str


class _Handler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.mails: list[Mail] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.content)
        payload = parsed.get_payload(decode=True)
        body = payload.decode(errors="replace") if isinstance(payload, bytes) else str(payload)
        mail = Mail(
            sender=envelope.mail_from,
            to=tuple(envelope.rcpt_tos),
            subject=str(parsed.get("subject", "")),
            body=body,
        )
        with self.lock:
            self.mails.append(mail)
        log.info("mail from %s to %s: %s", mail.sender, ", ".join(mail.to), mail.subject)
        return "250 Message accepted for delivery"


class Sink:
    def __init__(self, port: int = 0) -> None:
        self.handler = _Handler()
        self.controller = Controller(self.handler, hostname=HOST, port=port or _free_port())

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def mails(self) -> list[Mail]:
        with self.handler.lock:
            return list(self.handler.mails)

    def start(self) -> Sink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start(port: int = 0) -> Sink:
    return Sink(port).start()
