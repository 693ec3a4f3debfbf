"""Exactly once under contention: many approvers pressing Approve at the same moment."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from approvals import actions
from approvals.models import ApprovalDecision, ApprovalStatus
from opsconsole.audit.log import Actor
from opsconsole.web.problems import message_for
from tests.approvals.factories import make_request

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL); SQLite serialises writers anyway")


def _race(n: int, decide) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = decide(i)
        except Exception as exc:  # the answer each approver sees
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_it_sends_exactly_one_success_for_twenty_simultaneous_approvals(gateway):
    req = make_request(token="tok-race")

    results = _race(
        20,
        lambda i: actions.decide(
            req.pk,
            actor=Actor(type="user", id=f"approver{i}@example.com", role="approver"),
            decision="approve",
        ),
    )

    won = [r for r in results if isinstance(r, actions.DecisionResult)]
    lost = [r for r in results if isinstance(r, actions.AlreadyDecided)]
    assert len(won) == 1 and won[0].outcome == "approved"
    assert len(lost) == 19
    winner = won[0].request.decided_by
    assert all(message_for(e).startswith(f"Already approved by {winner} at") for e in lost)
    assert len(gateway.success) == 1
    assert ApprovalDecision.objects.filter(request=req).count() == 1
    req.refresh_from_db()
    assert req.status == ApprovalStatus.APPROVED


def test_it_releases_a_four_eyes_step_once_when_many_approve_at_once(gateway):
    req = make_request(kind="closures", business_key="77", amount=None, token="tok-77")

    results = _race(
        10,
        lambda i: actions.decide(
            req.pk,
            actor=Actor(type="user", id=f"approver{i}@example.com", role="approver"),
            decision="approve",
        ),
    )

    outcomes = sorted(r.outcome for r in results if isinstance(r, actions.DecisionResult))
    assert outcomes == ["approved", "first_approval"]
    assert len(gateway.success) == 1
    approvers = gateway.success[0][1]["approvers"]
    assert len(set(approvers)) == 2
