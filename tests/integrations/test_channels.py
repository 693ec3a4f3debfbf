"""Notification channels: alerts reach the channels their rule names; the ServiceNow preset
opens, notes and resolves incidents over real HTTP; mail goes over SMTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import transaction

from opsconsole import events
from opsconsole.audit.log import Actor
from opsconsole.integrations.models import Delivery, DeliveryStatus
from opsconsole.registry import RegistryError, load

pytestmark = pytest.mark.django_db(transaction=True)

OPERATOR = Actor(type="user", id="olivia@example.com", role="operator")


def _alert(type_: str, *, channels=("servicenow", "ops-mail"), value=3, repeat=False):
    with transaction.atomic():
        return events.emit(
            type_,
            target=events.Target(
                type="alert", id="dlq-not-empty:orders-dlq", label="dlq-not-empty", url="/alerts/"
            ),
            correlation_id="dlq-not-empty:orders-dlq",
            data={
                "rule": "dlq-not-empty",
                "severity": "critical",
                "labels": {"queue": "orders-dlq"},
                "channels": list(channels),
                "value": value,
                "group_key": "alertname=dlq-not-empty,dlq=orders-dlq",
                "repeat": repeat,
                "link": "/alerts/",
            },
        )


def _incidents(snow):
    return snow.instance.query("", 100)


def test_an_alert_opens_one_incident_notes_changes_and_resolves_it(
    outbound, snow, mailbox, channels_registry
):
    _alert("alert.firing")
    [incident] = _incidents(snow)
    assert incident["correlation_id"] == "alertname=dlq-not-empty,dlq=orders-dlq"
    assert incident["urgency"] == "1" and incident["impact"] == "1"  # critical
    assert incident["assignment_group"] == "Payments Operations"
    assert incident["cmdb_ci"] == "order-fulfilment"
    assert incident["short_description"] == "[critical] dlq-not-empty (dlq=orders-dlq)"
    assert "https://console.example.com/alerts/" in incident["description"]

    # firing again (a repeat, or a retry after a lost answer) finds the same incident
    _alert("alert.firing", value=5, repeat=True)
    _alert("alert.acknowledged")
    assert len(_incidents(snow)) == 1
    notes = [text for _, text in snow.instance.notes(incident["sys_id"])]
    assert any("still firing (value 5)" in n for n in notes)
    assert any("alert.acknowledged" in n for n in notes)

    _alert("alert.resolved", value=0)
    [resolved] = _incidents(snow)
    assert resolved["state"] == "6" and resolved["active"] == "false"
    assert resolved["close_code"] == "Solved (Permanently)"
    assert "resolved" in resolved["close_notes"]

    # firing after the resolution opens a new incident
    _alert("alert.firing")
    assert len(_incidents(snow)) == 2

    # and each alert event was mailed to the on-call list too
    subjects = [m.subject for m in mailbox.mails]
    assert subjects[0] == "[FIRING] [critical] dlq-not-empty"
    assert any(s.startswith("[RESOLVED]") for s in subjects)
    assert all(m.to == ("oncall@example.com",) for m in mailbox.mails)
    assert not Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()


def test_an_alert_goes_only_to_the_channels_its_rule_names(outbound, snow, channels_registry):
    _alert("alert.firing", channels=["ops-mail", "no-such-channel"])
    assert _incidents(snow) == []
    assert list(Delivery.objects.values_list("channel", flat=True)) == ["ops-mail"]


def test_a_console_action_on_a_saga_with_a_ticket_adds_a_work_note(
    outbound, snow, channels_registry
):
    incident = snow.instance.create({"short_description": "Order 8842 stuck"})
    from sagas.tickets import emit_saga_event
    from tests.sagas.factories import make_saga

    saga = make_saga(key="8842", status="failed", ticket=incident["number"])
    with transaction.atomic():
        emit_saga_event("saga.redriven", saga, OPERATOR, {"reason": "downstream fixed"})
    notes = [text for _, text in snow.instance.notes(incident["sys_id"])]
    assert len(notes) == 1
    assert "saga.redriven on orders 8842 by olivia@example.com" in notes[0]
    assert "downstream fixed" in notes[0]
    assert "https://console.example.com/sagas/orders/8842/?run=" in notes[0]


def test_servicenow_credentials_come_from_a_secrets_file(outbound, snow, tmp_path, settings):
    from opsconsole.integrations.servicenow.transport import credentials

    secrets = tmp_path / "servicenow"
    secrets.write_text("console\ns3cret\n")
    settings.SERVICENOW_USER = settings.SERVICENOW_PASSWORD = ""
    settings.SERVICENOW_SECRETS_FILE = str(secrets)
    assert credentials().user == "console" and credentials().password == "s3cret"


def test_bad_servicenow_credentials_are_not_retried(outbound, snow, channels_registry, settings):
    settings.SERVICENOW_PASSWORD = "wrong"
    _alert("alert.firing", channels=["servicenow"])
    row = Delivery.objects.get(channel="servicenow")
    assert row.status == DeliveryStatus.FAILED and row.last_status_code == 401


def test_a_down_mail_server_is_retried(outbound, channels_registry, settings):
    settings.EMAIL_PORT = 1  # nothing listens
    _alert("alert.firing", channels=["ops-mail"])
    row = Delivery.objects.get(channel="ops-mail")
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1


def _registry_error(tmp_path: Path, channels: str) -> RegistryError:
    from tests.integrations.conftest import DEMO

    path = tmp_path / "r.yaml"
    path.write_text(DEMO.read_text().split("\nnotification_channels:")[0] + channels)
    with pytest.raises(RegistryError) as caught:
        load(path)
    return caught.value


def test_a_bad_channel_names_file_line_and_field(tmp_path):
    err = _registry_error(
        tmp_path,
        "\nnotification_channels:\n  - name: x\n    type: email\n    to: [nobody]\n",
    )
    assert err.field_name == "notification_channels[0].to[0]"
    assert "not an email address" in err.reason
    assert str(err).startswith(f"{tmp_path / 'r.yaml'}:")
    err = _registry_error(tmp_path, "\nnotification_channels:\n  - name: x\n    type: pager\n")
    assert err.field_name == "notification_channels[0].type"
    err = _registry_error(
        tmp_path,
        "\nnotification_channels:\n  - name: x\n    type: servicenow\n    events: [saga.eaten]\n",
    )
    assert "unknown event type" in err.reason


def test_the_demo_registry_declares_its_channels():
    from opsconsole.integrations.config import channels
    from tests.integrations.conftest import DEMO

    declared = channels(load(DEMO))
    assert {c.type for c in declared.values()} == {"email", "sns", "servicenow"}


def test_an_alert_is_published_to_an_sns_topic_channel(aws, outbound):
    from opsconsole.aws import provisioning

    provisioning.ensure_topic("critical-alerts")
    _alert("alert.firing", channels=["critical-sns"])
    row = Delivery.objects.get(channel="critical-sns")
    assert row.status == DeliveryStatus.DELIVERED
    assert row.log.get().response_excerpt.startswith("MessageId ")


def test_a_missing_sns_topic_is_a_failure_that_is_retried_or_refused(aws, outbound):
    _alert("alert.firing", channels=["critical-sns"])
    row = Delivery.objects.get(channel="critical-sns")
    assert row.status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED)
    assert row.last_error


def test_a_long_alert_key_still_names_one_incident():
    from opsconsole.integrations.servicenow.transport import alert_key

    envelope = {"data": {"dedup_key": "opsconsole:rule:" + "x=" * 80}, "target": {"id": "1"}}
    other = {"data": {"dedup_key": "opsconsole:rule:" + "x=" * 79 + "y"}, "target": {"id": "1"}}
    assert len(alert_key(envelope)) == 100
    assert alert_key(envelope) != alert_key(other)
    assert alert_key({"data": {"dedup_key": "k"}, "target": {"id": "1"}}) == "k"


def test_a_dlq_send_back_given_an_incident_number_notes_it(outbound, snow, channels_registry):
    incident = snow.instance.create({"short_description": "payments-dlq has messages"})
    with transaction.atomic():
        events.emit(
            "dlq.messages_redriven",
            target=events.Target(type="dlq", id="payments-dlq", url="/recovery/dlq/payments-dlq/"),
            actor=OPERATOR,
            data={"succeeded": 12, "failed": 0, "ticket": incident["number"], "reason": "fixed"},
        )
    # the test registry routes saga events only; deliver through the channel directly
    from opsconsole.integrations.config import channels
    from opsconsole.integrations.servicenow.transport import (
        ServiceNowClient,
        ServiceNowTransport,
        credentials,
    )
    from opsconsole.registry import get_registry

    envelope = {
        "id": "e1",
        "type": "dlq.messages_redriven",
        "occurred_at": "2026-11-30T13:00:00.000Z",
        "actor": {"id": "olivia@example.com"},
        "target": {"type": "dlq", "id": "payments-dlq", "label": "payments-dlq", "url": ""},
        "data": {"succeeded": 12, "failed": 0, "ticket": incident["number"]},
    }
    channel = channels(get_registry())["servicenow"]
    transport = ServiceNowTransport(ServiceNowClient(credentials(), 3), channel)
    sent = transport.notify(envelope)
    assert sent.reference == incident["number"]
    # Delivered again (its answer was lost, so the outbox retried): still one note.
    assert transport.notify(envelope).reference == incident["number"]
    [(_, note)] = snow.instance.notes(incident["sys_id"])
    assert "dlq.messages_redriven on payments-dlq" in note and "12 succeeded" in note
    assert "Event e1" in note
    # Another event about the same incident is noted too.
    transport.notify({**envelope, "id": "e2"})
    assert len(snow.instance.notes(incident["sys_id"])) == 2
