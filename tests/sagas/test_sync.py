"""Syncing the read model from the emulated world (moto really runs the state machines)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from opsconsole.aws import sqs, stepfunctions
from opsconsole.aws.errors import AwsUnavailable
from sagas import actions, sync
from sagas.models import Saga, SagaStatus, SyncState
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db


def by_key(kind: str) -> dict[str, Saga]:
    return {s.business_key: s for s in Saga.objects.filter(kind=kind)}


def test_it_reads_every_seeded_saga_as_a_person_would_describe_it(seeded_world_readonly):
    from opsconsole.emulator import seed

    results = actions.sync_all_kinds()
    assert all(r.ok for r in results), [r.error for r in results]
    orders, closures = by_key("orders"), by_key("closures")
    assert {k: s.status for k, s in orders.items()} == {
        "8842": SagaStatus.WAITING,
        "8843": SagaStatus.COMPENSATED,
        "8844": SagaStatus.WAITING,
        "8845": SagaStatus.SUCCEEDED,
        "8846": SagaStatus.COMPENSATED,
        "8847": SagaStatus.NEEDS_REVIEW,
        "8848": SagaStatus.COMPENSATED,
        "8849": SagaStatus.TIMED_OUT,
        "8850": SagaStatus.RUNNING,
    }
    assert {k: s.status for k, s in closures.items()} == {
        "77": SagaStatus.WAITING,
        "78": SagaStatus.SUCCEEDED,
        "79": SagaStatus.FAILED,
        "80": SagaStatus.FAILED,
        "81": SagaStatus.FAILED,
    }
    waiting = orders["8842"]
    assert waiting.current_step == "AwaitApproval"
    assert waiting.callback_pending
    assert waiting.step_deadline is not None  # the approval step's 24 h SLA
    assert waiting.correlation_id == seed.correlation_id_for("orders", "8842")
    assert (waiting.initiator_type, waiting.initiator_id) == ("service", "storefront")
    assert waiting.amount is not None and waiting.currency == "EUR"
    assert orders["8844"].initiator_id == "anna.approver@example.com"
    assert orders["8850"].current_step == "AwaitDispatchDate"
    declined = orders["8843"]
    assert declined.business_status == "CANCELLED_COMPENSATED"
    assert declined.current_step == "ChargePayment"  # where it failed
    assert declined.compensation_ran and declined.stopped_at is not None
    assert declined.step_deadline is None
    assert orders["8845"].business_status == "CONFIRMED"
    assert orders["8847"].business_status == "NEEDS_REVIEW"
    # The provider's error, uncaught: the closure stopped at HandleBilling (redrivable).
    assert closures["79"].last_error == "DynamoDB.ConditionalCheckFailedException"
    assert closures["79"].current_step == "HandleBilling"
    assert orders["8847"].current_step == "RebookShipment"
    assert closures["78"].business_status == "deleted"  # the PROFILE item of an account
    assert closures["79"].ticket == "RITM20079"
    state = SyncState.objects.get(kind="orders")
    assert state.last_success_at is not None and not state.is_failing
    assert state.watermark is not None


def test_it_costs_one_list_call_per_state_machine_when_nothing_is_new(
    finished_world_readonly, aws_calls
):
    first = actions.sync_all_kinds()
    assert sum(r.new for r in first) == 6
    aws_calls.clear()

    again = actions.sync_all_kinds()

    assert dict(aws_calls) == {"ListExecutions": 2}  # orders and closures: one each
    assert [(r.new, r.updated, r.list_calls) for r in again] == [(0, 0, 1), (0, 0, 1)]
    assert all(r.seconds < 1.0 for r in again)


def test_it_sees_an_approval_given_between_two_syncs(seeded):
    actions.sync_all_kinds()
    assert by_key("orders")["8842"].status == SagaStatus.WAITING
    token = None
    for message in sqs.receive_messages(seeded.queue_urls["order-approvals"], max_messages=10):
        body = json.loads(message.body)
        if body.get("orderId") == "8842":
            token = body["taskToken"]
    assert token, "the approval request of order 8842 is in the queue"
    stepfunctions.send_task_success(token, {"approved": True, "approver": "ben"})
    arn = by_key("orders")["8842"].execution_arn
    wait_until(
        lambda: stepfunctions.describe_execution(arn).status != "RUNNING",
        timeout=20,
        what="order 8842 to finish after its approval",
    )

    results = actions.sync_all_kinds(kind="orders")

    order = by_key("orders")["8842"]
    assert results[0].updated >= 1
    assert order.status == SagaStatus.SUCCEEDED
    assert order.business_status == "CONFIRMED"
    assert order.current_step == "" and order.stopped_at is not None
    assert not order.callback_pending and order.step_deadline is None


def test_it_converges_on_the_same_rows_when_run_twice(finished_world_readonly):
    actions.sync_all_kinds()
    before = list(Saga.objects.order_by("execution_arn").values_list("execution_arn", "status"))
    actions.sync_all_kinds(full=True)
    after = list(Saga.objects.order_by("execution_arn").values_list("execution_arn", "status"))
    assert before == after
    assert Saga.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_it_is_safe_to_run_two_syncs_at_once(finished_world_readonly):
    errors: list[Any] = []

    def run() -> None:
        try:
            for r in actions.sync_all_kinds():
                if r.error:
                    errors.append(r.error)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert Saga.objects.count() == 6
    assert Saga.objects.values("execution_arn").distinct().count() == 6


def test_it_keeps_the_read_model_and_says_why_when_aws_is_unreachable(
    finished_world_readonly, monkeypatch
):
    actions.sync_all_kinds()
    rows = Saga.objects.count()

    def down(*args: Any, **kwargs: Any) -> Any:
        raise AwsUnavailable("AWS endpoint unreachable during ListExecutions: timed out")

    monkeypatch.setattr(stepfunctions, "list_executions_page", down)
    results = actions.sync_all_kinds()

    assert all(not r.ok for r in results)
    assert Saga.objects.count() == rows
    state = SyncState.objects.get(kind="orders")
    assert state.is_failing
    assert "unreachable" in state.last_error
    assert state.as_banner()["failing"]


def test_it_syncs_from_the_command_line_and_refuses_an_unknown_kind(
    finished_world_readonly, capsys
):
    call_command("sync_sagas", kind="orders")
    out = capsys.readouterr().out
    assert "orders: 6 new" in out
    assert not SyncState.objects.filter(kind="closures").exists()
    with pytest.raises(CommandError, match="unknown saga kind 'parcels'"):
        call_command("sync_sagas", kind="parcels")


def test_it_runs_as_the_beat_task(finished_world_readonly):
    from sagas.tasks import sync_all_kinds

    sync_all_kinds.delay()
    assert Saga.objects.count() == 6
    assert SyncState.objects.filter(last_success_at__isnull=False).count() == 2


def test_it_reads_business_statuses_fifty_keys_a_call(finished_world_readonly, aws_calls):
    from opsconsole.registry import get_registry

    actions.sync_all_kinds()
    keys = list(Saga.objects.values_list("business_key", flat=True))
    aws_calls.clear()
    kind = get_registry().kinds["orders"]
    statuses, calls = sync.fetch_business_statuses(
        kind, [*keys, *(str(k) for k in range(100, 160))], get_registry().env_for(kind)
    )
    assert calls == 2 and aws_calls["BatchGetItem"] == 2  # 66 keys x 2 candidate items
    assert set(statuses.values()) <= {"CONFIRMED", "CANCELLED_COMPENSATED"}
    assert set(statuses) == set(keys)


def test_it_lists_everything_first_and_backfills_where_failures_happened(
    finished_world_readonly, monkeypatch, aws_calls
):
    monkeypatch.setattr(sync, "TERMINAL_TAIL_BUDGET", 1)
    actions.sync_all_kinds()
    failed = Saga.objects.filter(sfn_status="FAILED")
    assert failed.count() >= 2, "the finished world has declined orders"
    assert failed.filter(current_step="").count() == failed.count() - 1
    assert all(s.status == SagaStatus.COMPENSATED for s in failed)  # status needs no history

    for _ in range(failed.count()):
        actions.sync_all_kinds()

    assert not failed.filter(current_step="").exists()
    assert set(failed.values_list("current_step", flat=True)) == {"ChargePayment"}
    aws_calls.clear()
    actions.sync_all_kinds()
    assert dict(aws_calls) == {"ListExecutions": 2}
