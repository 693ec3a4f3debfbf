"""The business signals the features register, computed from their read models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opsconsole import plugins
from opsconsole.recovery.models import QueueDepth
from tests.approvals.factories import make_request
from tests.sagas.factories import make_saga

pytestmark = pytest.mark.django_db


def compute(name: str) -> dict[tuple[tuple[str, str], ...], float | None]:
    from django.utils.module_loading import import_string

    signal = plugins.signals()[name]
    return {
        tuple(sorted(labels.items())): value
        for labels, value in import_string(signal.compute)(timezone.now())
    }


def test_every_feature_registers_its_signals():
    assert {
        "dlq_depth",
        "saga_sla_breaches",
        "step_sla_breaches",
        "compensation_rate",
        "success_rate",
        "failures_by_step",
        "sync_lag_seconds",
        "approvals_waiting",
        "approval_oldest_wait",
    } <= set(plugins.signals())


def test_saga_signals_count_breaches_and_rates_per_kind():
    now = timezone.now()
    make_saga("closures", "77", "running", started=now - timedelta(hours=1), step="HandleBilling")
    make_saga(
        "closures", "78", "waiting", started=now - timedelta(hours=1), step="AwaitClosureApproval"
    )
    make_saga("closures", "79", "running", started=now - timedelta(minutes=1), step="HandleBilling")
    for key, status in (
        ("1", "succeeded"),
        ("2", "compensated"),
        ("3", "succeeded"),
        ("4", "failed"),
    ):
        make_saga("orders", key, status, started=now - timedelta(minutes=10), step="ChargePayment")
    assert (
        compute("saga_sla_breaches")[(("kind", "closures"),)] == 1
    )  # not the one awaiting approval
    assert compute("compensation_rate")[(("kind", "orders"),)] == 0.25
    assert compute("success_rate")[(("kind", "orders"),)] == 0.5
    assert compute("compensation_rate")[(("kind", "closures"),)] is None  # none finished
    assert compute("failures_by_step")[(("kind", "orders"), ("step", "ChargePayment"))] == 2
    breaches = compute("step_sla_breaches")
    assert breaches[(("kind", "closures"), ("step", "HandleBilling"))] == 1


def test_approval_signals_say_how_many_wait_and_for_how_long():
    make_request(requested_at=timezone.now() - timedelta(minutes=30))
    make_request(business_key="8843")
    assert compute("approvals_waiting")[(("kind", "orders"),)] == 2
    assert compute("approval_oldest_wait")[(("kind", "orders"),)] >= 30 * 60 - 5
    assert compute("approvals_waiting")[(("kind", "closures"),)] == 0


def test_dlq_depth_comes_from_the_last_sqs_read_and_is_no_data_when_stale():
    now = timezone.now()
    QueueDepth.objects.create(
        name="payments-dlq", queue="payments-dlq", visible=4, read_at=now, checked_at=now
    )
    QueueDepth.objects.create(
        name="shipments-dlq",
        queue="shipments-dlq",
        visible=2,
        read_at=now - timedelta(hours=1),
        checked_at=now,
    )
    depths = {dict(k)["dlq"]: v for k, v in compute("dlq_depth").items()}
    assert depths["payments-dlq"] == 4
    assert depths["shipments-dlq"] is None
    assert depths["closure-emails-dlq"] is None  # never read


def _link(name: str, labels: dict[str, str]) -> str:
    from django.utils.module_loading import import_string

    return str(import_string(plugins.signals()[name].link)(labels))


def test_a_step_sla_alert_links_its_one_stuck_saga_or_the_list_of_them():
    late = timezone.now() - timedelta(minutes=5)
    one = make_saga("orders", "8801", "running", step="ChargePayment", step_deadline=late)
    labels = {"kind": "orders", "step": "ChargePayment"}
    assert _link("step_sla_breaches", labels) == one.get_absolute_url()
    make_saga("orders", "8802", "running", step="ChargePayment", step_deadline=late)
    assert _link("step_sla_breaches", labels) == "/sagas/orders/?stuck=1&step=ChargePayment"


def test_an_oldest_wait_alert_links_the_request_that_waited_longest():
    now = timezone.now()
    make_request("t-new", business_key="2", requested_at=now - timedelta(minutes=1))
    old = make_request("t-old", business_key="1", requested_at=now - timedelta(hours=2))
    assert _link("approval_oldest_wait", {"kind": "orders"}) == f"/approvals/{old.pk}/"
    assert _link("approval_oldest_wait", {"kind": "closures"}) == "/approvals/"
