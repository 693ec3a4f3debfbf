"""Outbound calls go only to allowed destinations: no probing the internal network."""

from __future__ import annotations

import pytest

from opsconsole.audit.log import Actor
from opsconsole.integrations import actions
from opsconsole.integrations.destinations import DestinationRefused, check_url
from opsconsole.integrations.errors import InvalidEndpoint

ADMIN = Actor(type="user", id="admin@example.com", role="admin")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
        "http://user:pw@example.com/hook",
    ],
)
def test_it_refuses_loopback_private_and_odd_urls(url, settings):
    settings.INTEGRATIONS_ALLOWED_DESTINATIONS = []
    with pytest.raises(DestinationRefused):
        check_url(url)


def test_an_allow_listed_host_or_network_passes(settings):
    settings.INTEGRATIONS_ALLOWED_DESTINATIONS = ["127.0.0.1", "10.0.0.0/8"]
    check_url("http://127.0.0.1:9/x")
    check_url("http://10.9.8.7/x")
    with pytest.raises(DestinationRefused):
        check_url("http://192.168.1.1/x")


def test_a_public_address_passes(settings):
    settings.INTEGRATIONS_ALLOWED_DESTINATIONS = []
    check_url("https://93.184.216.34/hook")


@pytest.mark.django_db
def test_an_admin_cannot_subscribe_an_internal_address(settings):
    settings.INTEGRATIONS_ALLOWED_DESTINATIONS = []
    with pytest.raises(InvalidEndpoint) as caught:
        actions.create_endpoint(ADMIN, url="http://169.254.169.254/latest/")
    assert caught.value.field == "url"


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused_at_connect(
    settings, monkeypatch
):
    # DNS rebinding: the name answers a public address to the check, then loopback to the
    # connection. The connection itself is checked, so nothing reaches the local receiver.
    import socket

    from opsconsole.emulator import webhook_receiver
    from opsconsole.integrations.transports import TransportError
    from opsconsole.integrations.webhook.transport import WebhookTransport

    settings.INTEGRATIONS_ALLOWED_DESTINATIONS = []
    real = socket.getaddrinfo
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))]])

    def rebinding(host: str, *args: object, **kwargs: object) -> object:
        if host == "rebind.example":
            return next(answers, None) or real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    running = webhook_receiver.start()
    try:
        port = running.port
        with pytest.raises(TransportError) as refused:
            WebhookTransport(timeout=2).notify(f"http://rebind.example:{port}/hook", b"{}", {})
        assert refused.value.permanent
        assert "connected to 127.0.0.1" in str(refused.value)
        assert running.receiver.snapshot()["receipts"] == []
    finally:
        running.stop()
