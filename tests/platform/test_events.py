"""Domain events reach subscribers inside the acting transaction, so they share its fate."""

from __future__ import annotations

import pytest
from django.db import transaction

from opsconsole import events
from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent

pytestmark = pytest.mark.django_db(transaction=True)

SAGA = events.Target(type="saga", id="orders/8843", label="order 8843", url="/sagas/1/")


@pytest.fixture
def received():
    seen: list[events.DomainEvent] = []
    events.subscribe("test-recorder", seen.append, types=["saga.redriven"])
    yield seen
    events.unsubscribe("test-recorder")


def test_it_hands_subscribers_a_versioned_envelope_naming_the_target_by_reference(received):
    actor = Actor(type="user", id="olga@example.com", role="operator")
    events.emit("saga.redriven", target=SAGA, actor=actor, correlation_id="c-1", data={"n": 1})
    events.emit("saga.stopped", target=SAGA)  # not subscribed to

    assert [e.type for e in received] == ["saga.redriven"]
    envelope = received[0].envelope()
    assert envelope["version"] == events.VERSION
    assert envelope["occurred_at"].endswith("Z")
    assert envelope["actor"] == {"type": "user", "id": "olga@example.com", "role": "operator"}
    assert envelope["target"] == {
        "type": "saga",
        "id": "orders/8843",
        "label": "order 8843",
        "url": "/sagas/1/",
    }
    assert envelope["correlation_id"] == "c-1"


def test_what_a_subscriber_writes_rolls_back_with_the_action():
    def write_row(event: events.DomainEvent) -> None:
        AuditEvent.objects.create(
            action="event-seen",
            actor_type="system",
            actor="t",
            target_type="saga",
            target_id=event.target.id,
            result="succeeded",
        )

    events.subscribe("test-writer", write_row)
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            events.emit("saga.stopped", target=SAGA)
            raise RuntimeError("the action failed after emitting")
        assert not AuditEvent.objects.filter(action="event-seen").exists()
        with transaction.atomic():
            events.emit("saga.stopped", target=SAGA)
        assert AuditEvent.objects.filter(action="event-seen").count() == 1
    finally:
        events.unsubscribe("test-writer")


def test_it_refuses_an_event_type_nobody_could_subscribe_to():
    with pytest.raises(ValueError, match="saga.redrove"):
        events.emit("saga.redrove", target=SAGA)
    with pytest.raises(ValueError, match="saga.redrove"):
        events.subscribe("typo", lambda e: None, types=["saga.redrove"])
