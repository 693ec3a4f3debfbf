"""The demo's outside world for the integrations: a local ServiceNow instance, a webhook
receiver and an SMTP sink, each on a free loopback port, logging what they receive to one
file. `make demo` starts them and points the console at them (loopback allow-listed)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from . import servicenow, smtp_sink, webhook_receiver

LOGGERS = (
    "opsconsole.emulator.servicenow",
    "opsconsole.emulator.webhooks",
    "opsconsole.emulator.mail",
)


@dataclass
class LocalTicketing:
    servicenow: servicenow.RunningInstance
    receiver: webhook_receiver.RunningReceiver
    mail: smtp_sink.Sink
    secrets_file: Path
    log_path: Path

    def env(self, web_port: int) -> dict[str, str]:
        """What the console's processes need to reach these servers."""
        return {
            "OPSCONSOLE_SERVICENOW_URL": self.servicenow.url,
            # Credentials from a secrets file, as a production deployment would mount them.
            "OPSCONSOLE_SERVICENOW_SECRETS_FILE": str(self.secrets_file),
            "OPSCONSOLE_SMTP_HOST": "127.0.0.1",
            "OPSCONSOLE_SMTP_PORT": str(self.mail.port),
            "OPSCONSOLE_INTEGRATIONS_ALLOW": "127.0.0.1",
            "OPSCONSOLE_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        }

    def banner(self) -> list[str]:
        return [
            f"  ServiceNow (incidents):      {self.servicenow.url}/",
            f"  Webhook receiver:            {self.receiver.url}/  "
            f"(subscribe {self.receiver.url}/hooks/demo, paste the secret on its page)",
            f"  Mail sink (SMTP):            127.0.0.1:{self.mail.port}  "
            f"(mails in {self.log_path})",
        ]

    def stop(self) -> None:
        for stop in (self.servicenow.stop, self.receiver.stop, self.mail.stop):
            try:
                stop()
            except Exception:  # noqa: S112 - shutting down: one failure must not keep others up
                continue


def start(var: Path, log_path: Path) -> LocalTicketing:
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    password = secrets.token_urlsafe(16)
    secrets_file = var / "servicenow-credentials"
    secrets_file.write_text(f"opsconsole\n{password}\n")
    secrets_file.chmod(0o600)
    return LocalTicketing(
        servicenow=servicenow.start(user="opsconsole", password=password),
        receiver=webhook_receiver.start(),
        mail=smtp_sink.start(),
        secrets_file=secrets_file,
        log_path=log_path,
    )
