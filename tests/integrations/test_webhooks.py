"""Webhooks end to end over real HTTP: an event committed in an action reaches a subscribed
receiver once, signed; failures retry on the schedule; 410 unsubscribes; 429 waits."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from django.db import transaction
from django.utils import timezone

from opsconsole import events
from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent
from opsconsole.integrations import actions, delivery
from opsconsole.integrations.models import Delivery, DeliveryStatus, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN = Actor(type="user", id="admin@example.com", role="admin")


def _emit(type_: str = "saga.stopped", **data):
    with transaction.atomic():
        return events.emit(
            type_,
            target=events.Target(type="saga", id="7", label="orders 8842", url="/sagas/orders/7/"),
            actor=ADMIN,
            correlation_id="corr-1",
            data=data,
        )


def _subscribe(receiver, path="/hooks/a", types=()):
    created = actions.create_endpoint(ADMIN, url=receiver.url + path, event_types=types)
    receiver.receiver.set_secret(path, created.secret)
    return created


def test_it_delivers_a_committed_event_signed_to_a_subscribed_receiver(receiver, outbound):
    created = _subscribe(receiver)
    event = _emit(reason="stuck")
    snap = receiver.receiver.snapshot()
    assert snap["unique"] == 1
    got = snap["receipts"][0]
    assert got["verified"] is True and got["event_id"] == event.id
    assert got["event_type"] == "saga.stopped"
    row = Delivery.objects.get(endpoint=created.endpoint)
    assert row.status == DeliveryStatus.DELIVERED and row.attempts == 1
    assert got["webhook_id"] == row.message_id
    # the envelope: versioned, the target by reference with an absolute link
    assert row.envelope["version"] == 1
    assert row.envelope["target"]["url"] == "https://console.example.com/sagas/orders/7/"
    assert row.log.get().status_code == 200


def test_nothing_is_written_or_sent_when_the_action_rolls_back(receiver, outbound):
    _subscribe(receiver)
    with pytest.raises(RuntimeError), transaction.atomic():
        _emit()
        raise RuntimeError("the action failed after emitting")
    assert Delivery.objects.exclude(endpoint=None).count() == 0
    assert receiver.receiver.snapshot()["receipts"] == []


def test_an_endpoint_gets_only_the_types_it_chose_and_none_when_disabled(receiver, outbound):
    created = _subscribe(receiver, types=["approval.decided"])
    _emit("saga.stopped")
    assert Delivery.objects.exclude(endpoint=None).count() == 0
    actions.update_endpoint(ADMIN, created.endpoint.pk, enabled=False)
    _emit("approval.decided")
    assert Delivery.objects.exclude(endpoint=None).count() == 0


def test_it_retries_a_failing_receiver_on_the_schedule_then_delivers(receiver, outbound):
    created = _subscribe(receiver)
    receiver.receiver.script("/hooks/a", [500, 503])
    _emit()
    row = Delivery.objects.get(endpoint=created.endpoint)
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1
    assert row.last_status_code == 500
    # the first retry is due after 5 seconds, not before
    assert delivery.attempt(row.pk) == ("skipped", None)
    wait = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 3 < wait <= 5
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.attempt(row.pk) == ("retry", 300.0)  # 503: the next after 5 minutes
    Delivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    assert delivery.attempt(row.pk) == ("delivered", None)
    row.refresh_from_db()
    assert row.attempts == 3 and row.delivered_at is not None
    assert [a.outcome for a in row.log.order_by("at", "id")] == ["retry", "retry", "delivered"]
    snap = receiver.receiver.snapshot()
    assert snap["unique"] == 1  # every attempt had the same webhook id
    assert {r["webhook_id"] for r in snap["receipts"]} == {row.message_id}


def test_the_schedule_spans_about_three_days():
    total = sum(delivery.SCHEDULE)
    assert timedelta(days=2.5) < timedelta(seconds=total) < timedelta(days=3.5)
    assert list(delivery.SCHEDULE) == sorted(delivery.SCHEDULE)


def test_it_honours_retry_after_on_429(receiver, outbound):
    created = _subscribe(receiver)
    receiver.receiver.script("/hooks/a", [429], retry_after="120")
    _emit()
    row = Delivery.objects.get(endpoint=created.endpoint)
    wait = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 110 < wait <= 120  # not the 5 s of the schedule


def test_a_410_unsubscribes_the_endpoint_and_tells_its_owner(receiver, outbound, mailbox):
    created = actions.create_endpoint(
        ADMIN, url=receiver.url + "/hooks/gone", owner_email="owner@example.com"
    )
    receiver.receiver.script("/hooks/gone", [410])
    _emit()
    endpoint = WebhookEndpoint.objects.get(pk=created.endpoint.pk)
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert Delivery.objects.get(endpoint=endpoint).status == DeliveryStatus.FAILED
    assert AuditEvent.objects.filter(action="webhook.disabled", target_id=str(endpoint.pk)).exists()
    [mail] = mailbox.mails
    assert mail.to == ("owner@example.com",) and "disabled" in mail.subject
    _emit()
    assert Delivery.objects.filter(endpoint=endpoint).count() == 1  # nothing new for it


def test_an_endpoint_failing_for_days_is_disabled_and_its_owner_told(receiver, outbound, mailbox):
    created = actions.create_endpoint(
        ADMIN, url=receiver.url + "/hooks/down", owner_email="owner@example.com"
    )
    WebhookEndpoint.objects.filter(pk=created.endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=3, minutes=1)
    )
    receiver.receiver.script("/hooks/down", [500])
    _emit()
    endpoint = WebhookEndpoint.objects.get(pk=created.endpoint.pk)
    assert not endpoint.enabled and "failed for 3 days" in endpoint.disabled_reason
    assert [m.to for m in mailbox.mails] == [("owner@example.com",)]


def test_a_success_clears_the_failing_since_mark(receiver, outbound):
    created = _subscribe(receiver)
    receiver.receiver.script("/hooks/a", [500])
    _emit()
    assert WebhookEndpoint.objects.get(pk=created.endpoint.pk).failing_since is not None
    _emit()
    assert WebhookEndpoint.objects.get(pk=created.endpoint.pk).failing_since is None


def test_it_gives_up_after_the_last_attempt_of_the_schedule(receiver, outbound):
    created = _subscribe(receiver)
    receiver.receiver.script("/hooks/a", [500])
    _emit()
    row = Delivery.objects.get(endpoint=created.endpoint)
    Delivery.objects.filter(pk=row.pk).update(
        attempts=delivery.MAX_ATTEMPTS - 1, next_attempt_at=timezone.now()
    )
    receiver.receiver.script("/hooks/a", [500])
    assert delivery.attempt(row.pk) == ("gave_up", None)


def test_a_killed_attempt_is_taken_over_once_its_lease_expires(receiver, outbound):
    created = _subscribe(receiver)
    receiver.receiver.script("/hooks/a", [500])
    _emit()
    row = Delivery.objects.get(endpoint=created.endpoint)
    # a worker claimed it, then died: the row is "sending" with a lease
    Delivery.objects.filter(pk=row.pk).update(
        status=DeliveryStatus.SENDING,
        lease_until=timezone.now() + timedelta(minutes=1),
        next_attempt_at=timezone.now(),
    )
    assert delivery.attempt(row.pk) == ("skipped", None)  # not while the lease holds
    assert row.pk not in delivery.due()
    Delivery.objects.filter(pk=row.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert row.pk in delivery.due()
    assert delivery.attempt(row.pk) == ("delivered", None)


def test_redeliver_sends_again_with_the_same_webhook_id(receiver, outbound):
    created = _subscribe(receiver)
    _emit()
    row = Delivery.objects.get(endpoint=created.endpoint)
    actions.redeliver(ADMIN, created.endpoint.pk, row.pk)
    snap = receiver.receiver.snapshot()
    assert [r["webhook_id"] for r in snap["receipts"]] == [row.message_id] * 2
    assert snap["duplicates"] == 1  # the receiver recognised it
    assert AuditEvent.objects.filter(action="webhook.redeliver", result="succeeded").exists()


def test_rotation_signs_with_both_secrets_until_the_old_one_expires(receiver, outbound):
    created = _subscribe(receiver)
    actions.rotate_secret(ADMIN, created.endpoint.pk)
    _emit()
    got = receiver.receiver.snapshot()["receipts"][-1]
    assert got["signatures"] == 2 and got["verified"] is True  # the old secret still verifies
    WebhookEndpoint.objects.filter(pk=created.endpoint.pk).update(
        previous_secret_expires_at=timezone.now() - timedelta(seconds=1)
    )
    _emit()
    got = receiver.receiver.snapshot()["receipts"][-1]
    assert got["signatures"] == 1 and got["verified"] is False and got["status"] == 401


def test_the_secret_is_not_stored_in_clear(receiver, outbound):
    created = _subscribe(receiver)
    stored = WebhookEndpoint.objects.filter(pk=created.endpoint.pk).values_list(
        "secret_encrypted", flat=True
    )[0]
    assert created.secret not in stored and created.secret[6:] not in stored
    details = AuditEvent.objects.filter(action="webhook.create").values_list("details", flat=True)
    assert all(created.secret not in str(d) for d in details)


def test_a_receiver_that_hangs_times_out_and_is_retried(outbound, settings):
    import socket
    import threading

    settings.INTEGRATIONS_TIMEOUT = 0.5
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    conns = []
    threading.Thread(target=lambda: conns.append(server.accept()), daemon=True).start()
    try:
        created = actions.create_endpoint(ADMIN, url=f"http://127.0.0.1:{port}/slow")
        _emit()
        row = Delivery.objects.get(endpoint=created.endpoint)
        assert row.status == DeliveryStatus.PENDING and "no answer within 0.5s" in row.last_error
    finally:
        server.close()


def test_receiver_page_lists_what_arrived(receiver, outbound):
    _subscribe(receiver)
    _emit()
    page = requests.get(receiver.url + "/", timeout=5).text
    assert "saga.stopped" in page and "verified" in page
