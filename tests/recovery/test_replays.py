"""Archive replay: the archives with their numbers, a window's impact preview, refusals of a
window in the future or past retention, the replay itself, its progress and the sagas it
started."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent
from opsconsole.aws import events, sqs
from opsconsole.recovery.replays import actions
from opsconsole.recovery.replays.errors import InvalidReplay
from opsconsole.recovery.replays.models import ReplayRecord
from sagas.models import Saga
from tests.helpers import wait_until

pytestmark = pytest.mark.django_db

OPERATOR = Actor(type="user", id="operator", role="operator")


@pytest.fixture
def world(aws):
    from opsconsole.emulator import world

    built = world.build()
    events.put_events(
        world.ORDERS_BUS,
        "opsconsole.demo.orders",
        "OrderPlaced",
        [{"data": {"orderId": str(8900 + n)}} for n in range(3)],
    )
    return built


def _finished(record: ReplayRecord) -> ReplayRecord:
    return wait_until(
        lambda: (r := actions.refresh(record)).state not in ("STARTING", "RUNNING") and r,
        timeout=20,
        what="the replay to finish",
    )


def _drain(url: str) -> list[dict]:
    found = []
    while batch := sqs.receive_messages(url, max_messages=10, visibility_timeout=30):
        found.extend(json.loads(m.body) for m in batch)
    return found


def test_the_archives_page_shows_state_count_size_and_retention(world, viewer_client):
    actions.poll_archives()
    page = viewer_client.get("/recovery/archives/").content.decode()
    assert 'data-archive="orders-archive"' in page
    assert "30 days" in page
    assert "ENABLED" in page


def test_a_window_in_the_future_or_past_retention_is_refused_with_the_reason(world):
    now = timezone.now()
    with pytest.raises(InvalidReplay) as future:
        actions.preview("orders-archive", now - timedelta(hours=1), now + timedelta(hours=1))
    assert future.value.params["problem"] == "future"
    with pytest.raises(InvalidReplay) as old:
        actions.preview("orders-archive", now - timedelta(days=31), now - timedelta(days=30))
    assert old.value.params == {"problem": "retention", "field": "start", "retention_days": 30}
    with pytest.raises(InvalidReplay):
        actions.start("orders-archive", now, now + timedelta(hours=1), actor=OPERATOR)
    assert AuditEvent.objects.get(action="replay.start").result == "refused"
    assert not ReplayRecord.objects.exists()


def test_the_preview_lists_the_rules_and_sagas_of_the_window_and_warns_of_recent_events(world):
    now = timezone.now()
    Saga.objects.create(
        kind="orders",
        execution_arn="arn:x:8900",
        execution_name="order-8900-1",
        state_machine_arn="arn:sm",
        business_key="8900",
        status="succeeded",
        sfn_status="SUCCEEDED",
        started_at=now - timedelta(minutes=5),
    )
    impact = actions.preview("orders-archive", now - timedelta(hours=1), now)
    rules = {r.name: r for r in impact.rules}
    assert sorted(rules) == ["order-events-to-warehouse", "order-placed-starts-fulfilment"]
    assert rules["order-events-to-warehouse"].targets[0].arn.endswith(":order-events")
    assert rules["order-placed-starts-fulfilment"].targets[0].arn.endswith(":OrderIntake")
    assert impact.sagas_by_kind == {"orders": 1}
    assert any("last 10 minutes" in w for w in impact.warnings)


def test_an_operator_replays_a_window_onto_its_bus_and_sees_its_progress(world, operator_client):
    queue = world.queue_urls["order-events"]
    _drain(queue)  # what the first delivery put there
    now = timezone.now()
    before = Saga.objects.create(
        kind="orders",
        execution_arn="arn:x:8901",
        execution_name="order-8901-1",
        state_machine_arn="arn:sm",
        business_key="8901",
        status="failed",
        sfn_status="FAILED",
        started_at=now - timedelta(minutes=5),
    )
    url = "/recovery/archives/orders-archive/replay/"
    window = {
        "start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + timedelta(seconds=0)).isoformat(),
    }
    shown = operator_client.post(url, window).content.decode()
    assert 'id="replay-impact"' in shown
    response = operator_client.post(
        url, {**window, "confirm": "yes", "ticket": "INC7", "idempotency_key": "r1"}
    )
    assert response.status_code == 302
    record = ReplayRecord.objects.get()
    # AWS answers STARTING and replays in the background: the progress follows.
    record = _finished(record)
    assert record.state == "COMPLETED"
    assert record.progress_percent() == 100
    replayed = _drain(queue)
    assert sorted(e["detail"]["data"]["orderId"] for e in replayed) == ["8900", "8901", "8902"]
    assert {e["replay-name"] for e in replayed} == {record.name}
    # The same form sent again is the same replay.
    operator_client.post(url, {**window, "confirm": "yes", "idempotency_key": "r1"})
    assert ReplayRecord.objects.count() == 1

    again = Saga.objects.create(
        kind="orders",
        execution_arn="arn:x:8901-2",
        execution_name="order-8901-2",
        state_machine_arn="arn:sm",
        business_key="8901",
        status="running",
        sfn_status="RUNNING",
        started_at=timezone.now(),
    )
    page = operator_client.get(f"/recovery/replays/{record.pk}/").content.decode()
    assert "COMPLETED" in page
    assert again.get_absolute_url() in page
    assert before.get_absolute_url() not in page
    refused = operator_client.post(f"/recovery/replays/{record.pk}/cancel/", follow=True)
    assert "nothing to cancel" in refused.content.decode()


def test_a_replay_only_to_chosen_rules_fires_only_those(world):
    queue = world.queue_urls["order-events"]
    _drain(queue)
    now = timezone.now()
    rule = next(r.arn for r in events.list_rules("orders-bus") if "warehouse" in r.name)
    other = rule.replace("order-events-to-warehouse", "none")
    with pytest.raises(InvalidReplay):
        actions.start(
            "orders-archive", now - timedelta(hours=1), now, actor=OPERATOR, rule_arns=[other]
        )
    record = actions.start(
        "orders-archive", now - timedelta(hours=1), now, actor=OPERATOR, rule_arns=[rule]
    )
    assert _finished(record).state == "COMPLETED"
    assert len(_drain(queue)) == 3
