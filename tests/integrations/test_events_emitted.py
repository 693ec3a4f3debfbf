"""The events existing actions emit: approvals requested and decided, sagas that the sync
sees fail, compensate or park for review, and tickets linked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opsconsole import events
from opsconsole.audit.log import Actor
from sagas import tickets
from sagas.models import Saga, SagaStatus
from sagas.sync import upsert
from tests.sagas.factories import make_saga

pytestmark = pytest.mark.django_db


@pytest.fixture
def seen():
    got: list[events.DomainEvent] = []
    events.subscribe("test.seen", got.append)
    yield got
    events.unsubscribe("test.seen")


def test_the_sync_announces_a_saga_that_reached_failed_compensated_or_review(seen):
    rows = [
        make_saga(key=str(i), status=SagaStatus.RUNNING, ticket="INC0010001" if i == 1 else "")
        for i in range(4)
    ]
    for row, status in zip(
        rows,
        [SagaStatus.FAILED, SagaStatus.COMPENSATED, SagaStatus.NEEDS_REVIEW, SagaStatus.SUCCEEDED],
        strict=True,
    ):
        row.status = status
        row.stopped_at = timezone.now()
    upsert(rows)
    assert [e.type for e in seen] == ["saga.failed", "saga.compensated", "saga.needs_review"]
    failed = seen[0]
    assert failed.target.type == "saga" and failed.target.url.startswith("/sagas/orders/0/?run=")
    assert failed.data["previous_status"] == "running"
    assert seen[1].data["tickets"] == ["INC0010001"]
    upsert(rows)  # nothing changed: nothing announced again
    assert len(seen) == 3


def test_a_first_sync_does_not_replay_old_failures(seen):
    old = make_saga(key="old", status=SagaStatus.FAILED)
    Saga.objects.filter(pk=old.pk).delete()
    old.pk = None
    old.stopped_at = timezone.now() - timedelta(days=3)
    fresh = make_saga(key="fresh", status=SagaStatus.FAILED)
    Saga.objects.filter(pk=fresh.pk).delete()
    fresh.pk = None
    fresh.stopped_at = timezone.now()
    upsert([old, fresh])
    assert [e.data["business_key"] for e in seen] == ["fresh"]


def test_linking_a_ticket_is_audited_idempotent_and_announced(seen):
    saga = make_saga(key="8842", ticket="INC1")
    operator = Actor(type="user", id="olivia", role="operator")
    _, created = tickets.link_ticket(saga, "INC2", actor=operator, source="person")
    assert created
    _, again = tickets.link_ticket(saga, "INC2", actor=operator, source="person")
    assert not again
    assert tickets.tickets_of(saga) == ["INC1", "INC2"]
    assert [e.type for e in seen] == ["saga.ticket_linked"]
    assert seen[0].data["tickets"] == ["INC1", "INC2"]
    assert list(tickets.sagas_for_ticket("INC2")) == [saga]


def test_a_viewer_cannot_link_and_a_bad_number_is_refused():
    saga = make_saga(key="1")
    from sagas.errors import InvalidTicket, NotAnOperator

    with pytest.raises(NotAnOperator):
        tickets.link_ticket(saga, "INC1", actor=Actor("user", "v", role="viewer"), source="api")
    with pytest.raises(InvalidTicket):
        tickets.link_ticket(
            saga, "two words", actor=Actor("user", "o", role="operator"), source="api"
        )


def test_an_approval_request_and_its_decision_are_announced(seen, aws):
    from approvals.actions import decide
    from tests.approvals.factories import make_request

    req = make_request()
    decide(req.pk, actor=Actor("user", "alice", role="approver"), decision="reject", reason="no")
    decided = [e for e in seen if e.type == "approval.decided"]
    assert len(decided) == 1
    assert decided[0].data["decision"] == "reject" and decided[0].data["reason"] == "no"
    assert decided[0].target.url == f"/approvals/{req.pk}/"
