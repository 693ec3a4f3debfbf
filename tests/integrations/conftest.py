"""Local servers over real HTTP/SMTP (the demo's own: a webhook receiver, a ServiceNow
Table API, an SMTP sink), and settings that let the console reach them on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from opsconsole.emulator import servicenow, smtp_sink, webhook_receiver

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"

CHANNELS = """
notification_channels:
  - name: ops-mail
    type: email
    to: [oncall@example.com]
  - name: servicenow
    type: servicenow
    assignment_group: Payments Operations
    cmdb_ci: order-fulfilment
    events: [saga.redriven, saga.ticket_linked]
  - name: chat
    type: webhook
    url: http://127.0.0.1:1/never
  - name: critical-sns
    type: sns
    topic_arn: arn:aws:sns:eu-west-1:123456789012:critical-alerts
"""


@pytest.fixture
def receiver() -> Iterator[webhook_receiver.RunningReceiver]:
    running = webhook_receiver.start()
    yield running
    running.stop()


@pytest.fixture
def snow() -> Iterator[servicenow.RunningInstance]:
    running = servicenow.start(user="console", password="s3cret")
    yield running
    running.stop()


@pytest.fixture
def mailbox() -> Iterator[smtp_sink.Sink]:
    sink = smtp_sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def outbound(settings: Any, snow: servicenow.RunningInstance, mailbox: smtp_sink.Sink) -> Any:
    """Loopback allowed (as in the demo), short timeouts, ServiceNow and SMTP pointed at the
    local servers."""
    settings.INTEGRATIONS_ALLOWED_DESTINATIONS = ["127.0.0.1"]
    settings.INTEGRATIONS_TIMEOUT = 3.0
    settings.SERVICENOW_URL = snow.url
    settings.SERVICENOW_USER = "console"
    settings.SERVICENOW_PASSWORD = "s3cret"
    settings.SERVICENOW_SECRETS_FILE = ""
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mailbox.port
    settings.PUBLIC_URL = "https://console.example.com"
    return settings


@pytest.fixture
def channels_registry(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """The demo registry with the test's notification channels instead of the demo's."""
    from opsconsole.registry import reset_registry

    text = DEMO.read_text().split("\nnotification_channels:")[0] + CHANNELS
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    settings.REGISTRY_PATH = path
    reset_registry()
    yield path
    reset_registry()
