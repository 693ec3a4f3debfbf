"""Bulk redrive and restart from a saga list filter: the dry run, one job, the verified outcome,
and never a saga done twice (same request again, a killed worker, a second job)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.aws import dynamodb, provisioning, stepfunctions
from opsconsole.recovery import jobs
from opsconsole.recovery.executions import actions, bulk
from opsconsole.recovery.executions.models import SagaAction
from opsconsole.recovery.models import Job, JobItem
from sagas.models import Saga
from tests.helpers import wait_until
from tests.recovery.test_executions import _finished, _saga_for
from tests.recovery.test_executions_emulator import MACHINE, ROLE, TABLE

pytestmark = pytest.mark.django_db

OPERATOR = Actor(type="user", id="operator", role="operator")
SM = "arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFulfillment"


def _row(n: int, status: str, sfn: str, **fields) -> Saga:
    now = timezone.now()
    return Saga.objects.create(
        kind="orders",
        execution_arn=f"{SM.replace('stateMachine', 'execution')}:order-{n}-1",
        execution_name=f"order-{n}-1",
        state_machine_arn=SM,
        business_key=str(n),
        status=status,
        sfn_status=sfn,
        current_step=fields.pop("current_step", "ChargePayment"),
        started_at=fields.pop("started_at", now - timedelta(minutes=30)),
        stopped_at=fields.pop("stopped_at", now - timedelta(minutes=20)),
        **fields,
    )


def test_the_dry_run_counts_what_is_eligible_and_says_why_the_rest_is_not():
    for n in range(10):
        _row(100 + n, "failed", "FAILED")
    for n in range(3):
        _row(200 + n, "compensated", "FAILED", compensation_ran=True)
    _row(300, "failed", "FAILED", stopped_at=timezone.now() - timedelta(days=15))
    _row(301, "failed", "FAILED", current_step="BookShipment")  # another step: not selected
    resolved = _row(302, "failed", "FAILED")
    SagaAction.objects.create(
        saga=resolved, action="resolve", seq=1, state="done", execution_arn="x", actor="o"
    )

    run = bulk.dry_run("orders", "redrive", {"step": "ChargePayment"})
    assert len(run.eligible) == 10
    assert run.ineligible_count == 5
    reasons = {r["why"]: r["count"] for r in run.reasons()}
    assert any("Fail state" in why and n == 3 for why, n in reasons.items())
    assert any("14 days" in why for why in reasons)
    assert any("resolved" in why for why in reasons)
    restart = bulk.dry_run("orders", "restart", {"step": "ChargePayment"})
    assert len(restart.eligible) == 14  # compensated or old orders can be restarted


def test_the_dry_run_page_shows_the_counts_and_the_reasons(operator_client):
    _row(1, "failed", "FAILED")
    _row(2, "compensated", "FAILED", compensation_ran=True)
    page = operator_client.get("/recovery/bulk/?kind=orders&action=redrive&status=").content
    text = page.decode()
    assert 'id="eligible-count">1<' in text
    assert 'id="ineligible-count">1<' in text
    assert "restart it instead" in text


@pytest.fixture
def five_failed(aws, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # submit only queues; the test runs the job
    provisioning.ensure_table(TABLE, "pk")
    dynamodb.put_item(TABLE, {"pk": "SLOT#1", "closed": True})
    sm = stepfunctions.ensure_state_machine("Booking", MACHINE, ROLE)
    arns = [stepfunctions.start_execution(sm, f"b-{n}-1", {"slot": "SLOT#1"}) for n in range(5)]
    sagas = [
        _saga_for(arn, sm, business_key=str(n), current_step="BookSlot")
        for n, arn in enumerate(arns)
        if _finished(arn)
    ]
    dynamodb.put_item(TABLE, {"pk": "SLOT#1"})  # the cause is fixed
    return sagas


def _submit(key: str = "k1") -> Job:
    job, _ = bulk.submit(
        "orders",
        "redrive",
        {"step": "BookSlot"},
        actor=OPERATOR,
        ticket="INC0042",
        reason="slot reopened",
        rate_per_second=None,
        idempotency_key=key,
    )
    return job


def _settle(job: Job) -> Job:
    for saga in Saga.objects.all():
        _finished(saga.execution_arn)
    wait_until(
        lambda: (jobs.verify_waiting() or True) and not Job.objects.get(pk=job.pk).waiting,
        timeout=20,
        what="the job's items to settle",
    )
    job.refresh_from_db()
    return job


def _redrives() -> list[int]:
    return [
        stepfunctions.describe_execution(s.execution_arn).redrive_count
        for s in Saga.objects.order_by("pk")
    ]


def test_a_bulk_redrive_recovers_every_saga_once_and_the_same_request_again_does_nothing(
    five_failed,
):
    job = _submit()
    assert job.total == 5
    assert jobs.run(job.pk) == "done"
    job = _settle(job)
    assert job.state == Job.FINISHED
    assert job.counts()["succeeded"] == 5
    assert bulk.outcome_summary(job.pk)["recovered"] == 5
    assert _redrives() == [1] * 5

    again = _submit()  # the same request (same form key): the same job
    assert again.pk == job.pk
    second = _submit("k2")  # a new request for the same filter: nothing left to redrive
    assert second.total == 0
    assert _redrives() == [1] * 5


def test_a_worker_killed_halfway_redrives_no_saga_twice(five_failed, monkeypatch):
    job = _submit()
    real = actions.conclude
    calls = {"n": 0}

    def dies_after_the_third_call_to_aws(claimed, sent):
        # Killed at the worst moment: AWS has redriven, the answer is not recorded yet.
        calls["n"] += 1
        if calls["n"] == 3:
            raise SystemExit("worker killed")
        return real(claimed, sent)

    monkeypatch.setattr(actions, "conclude", dies_after_the_third_call_to_aws)
    with pytest.raises(SystemExit):
        jobs.run(job.pk)
    assert JobItem.objects.filter(job=job, state=JobItem.RUNNING).exists()
    Job.objects.filter(pk=job.pk).update(lease_until=None)  # the dead worker's lease ran out
    monkeypatch.setattr(actions, "conclude", real)
    assert jobs.run(job.pk) == "done"
    job = _settle(job)
    assert job.counts()["succeeded"] == 5
    assert _redrives() == [1] * 5
    assert SagaAction.objects.filter(action="redrive").count() == 5
