"""The status tabs' numbers answer from a summary the sync keeps (SagaCount), and stay equal
to counting the sagas themselves: after syncs that add sagas, change their status and move
them between days, under every filter the list page offers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.db.models import Count
from django.http import QueryDict
from django.utils import timezone

from sagas import actions, queries, sync
from sagas.models import Saga, SagaCount, SagaStatus, rebuild_counts

from .factories import make_saga

pytestmark = pytest.mark.django_db

# A fixed "now" a few hours after midnight, so windows cut days both near and far from
# their edges.
NOW = datetime(2026, 11, 30, 5, 17, 31, tzinfo=UTC)
STEPS = ["", "ChargePayment", "AwaitApproval"]
STATUSES = [
    SagaStatus.SUCCEEDED,
    SagaStatus.WAITING,
    SagaStatus.RUNNING,
    SagaStatus.FAILED,
    SagaStatus.COMPENSATED,
]

WINDOWS: list[dict[str, str]] = [
    {},
    {"range": "1h"},
    {"range": "24h"},
    {"range": "7d"},
    {"range": "30d"},
    {"since": "2026-11-27T00:00"},  # a midnight: whole days only
    {"since": "2026-11-27T03:00"},  # early in a day: the day minus its live start
    {"since": "2026-11-27T21:00"},  # late in a day: the live end of the day
    {"until": "2026-11-28T02:00"},
    {"until": "2026-11-28T22:30"},
    {"since": "2026-11-25T20:00", "until": "2026-11-28T04:00"},
    {"since": "2026-11-25T02:00", "until": "2026-11-28T20:00"},
    {"since": "2026-11-26T01:00", "until": "2026-11-26T23:00"},  # within one day
    {"since": "2026-11-26T00:00", "until": "2026-11-27T00:00"},
    # Minutes into an hour, on both sides of the half hour; within one hour; across two.
    {"since": "2026-11-27T03:10"},
    {"since": "2026-11-27T03:45"},
    {"until": "2026-11-27T03:20"},
    {"until": "2026-11-27T03:50"},
    {"since": "2026-11-27T03:05", "until": "2026-11-27T03:40"},
    {"since": "2026-11-27T03:05", "until": "2026-11-27T04:00"},
    {"since": "2026-11-27T02:35", "until": "2026-11-27T03:25"},
    {"since": "2026-11-27T03:00", "until": "2026-11-27T03:35"},
    {"since": "2026-11-24T03:50", "until": "2026-11-27T03:10"},
]


def seed(n: int = 90) -> list[Saga]:
    """Sagas over the last ten days, at every hour of the day, in mixed statuses and steps."""
    rows = []
    for i in range(n):
        status = STATUSES[i % len(STATUSES)]
        step = STEPS[i % len(STEPS)] if status != SagaStatus.SUCCEEDED else ""
        if status == SagaStatus.WAITING:
            step = "AwaitApproval"
        started = NOW - timedelta(hours=i * 2.7 + 0.3)
        rows.append(
            make_saga(
                "orders" if i % 4 else "closures",
                str(5000 + i),
                status,
                started=started,
                step=step,
                # Half the active ones are past their step's SLA at NOW.
                step_deadline=started + timedelta(hours=1 if i % 2 else 400)
                if status in (SagaStatus.RUNNING, SagaStatus.WAITING)
                else None,
            )
        )
    # An hour with a saga every five minutes, cut by the windows above.
    for minute in range(0, 60, 5):
        rows.append(
            make_saga(
                "orders",
                f"minute-{minute}",
                STATUSES[minute % len(STATUSES)],
                started=datetime(2026, 11, 27, 3, minute, 30, tzinfo=UTC),
                step="ChargePayment",
            )
        )
    # Deadlines passed this hour, last hour, and not yet, for sagas started days apart.
    for i, minutes in enumerate([-5, -12, -20, -70, 5, 50]):
        for days in (0, 2, 6):
            rows.append(
                make_saga(
                    "orders",
                    f"late-{i}-{days}",
                    SagaStatus.RUNNING if i % 2 else SagaStatus.WAITING,
                    started=NOW - timedelta(days=days, hours=3),
                    step="AwaitApproval" if i % 2 == 0 else "ChargePayment",
                    step_deadline=NOW + timedelta(minutes=minutes),
                )
            )
    return rows


def live(kind: str | None, f: queries.Filters) -> dict[str, int]:
    rows = (
        queries.filtered(kind, f.without_status(), now=NOW)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {r["status"]: r["n"] for r in rows}


def filter_sets() -> list[dict[str, str]]:
    sets = []
    # Every window with every other filter; a search is counted live whatever the window, so
    # it is combined with the first few windows only (the suite's time is worth keeping).
    combos = itertools.product(WINDOWS, ["", "ChargePayment", "AwaitApproval"], [0, 1], [0, 1])
    searches = itertools.product(WINDOWS[:3], [""], [0, 1], [0, 1], ["5004"])
    for window, step, waiting, stuck, q in itertools.chain(
        ((w, s, wa, st, "") for w, s, wa, st in combos), searches
    ):
        params = dict(window)
        if step:
            params["step"] = step
        if waiting:
            params["waiting"] = "1"
        if stuck:
            params["stuck"] = "1"
        if q:
            params["q"] = q
        sets.append(params)
    return sets


def assert_tabs_match_live() -> None:
    checked = 0
    for params in filter_sets():
        f, errors = queries.parse_filters(QueryDict(urlencode(params)), NOW)
        assert errors == {}, params
        for kind in ("orders", "closures", None):
            assert queries.status_counts(kind, f, now=NOW) == live(kind, f), (kind, params)
            checked += 1
    backwards = queries.Filters(since=NOW - timedelta(days=1), until=NOW - timedelta(days=3))
    assert queries.status_counts("orders", backwards, now=NOW) == {}
    assert checked > 500


def resync(rows: list[Saga]) -> None:
    """What the sync does with the rows it (re)wrote: one bulk upsert."""
    for row in rows:
        row.synced_at = timezone.now()
    sync.upsert(rows)


def test_it_shows_tab_counts_equal_to_counting_the_sagas_under_every_filter():
    seed()
    assert SagaCount.objects.exists()
    assert_tabs_match_live()


def test_it_keeps_the_tabs_exact_after_syncs_that_add_change_and_move_sagas():
    existing = seed()

    # New executions, some on a day that had none of their kind.
    new = [
        Saga(
            kind="orders",
            execution_arn=f"arn:aws:states:eu-west-1:1:execution:OrderFulfillment:new-{i}",
            execution_name=f"new-{i}",
            state_machine_arn="arn:aws:states:eu-west-1:1:stateMachine:OrderFulfillment",
            business_key=str(9000 + i),
            status=SagaStatus.RUNNING,
            sfn_status="RUNNING",
            current_step="ChargePayment",
            started_at=NOW - timedelta(days=12, hours=i),
            step_deadline=NOW - timedelta(minutes=1),
        )
        for i in range(6)
    ]
    resync(new)
    assert_tabs_match_live()

    # Statuses change: waiting ones approved and succeeded, running ones failed.
    changed = []
    for row in Saga.objects.filter(status__in=[SagaStatus.WAITING, SagaStatus.RUNNING]):
        approved = row.status == SagaStatus.WAITING
        row.status = SagaStatus.SUCCEEDED if approved else SagaStatus.FAILED
        row.sfn_status = "SUCCEEDED" if approved else "FAILED"
        row.current_step = "" if approved else row.current_step
        row.step_deadline = None
        changed.append(row)
    resync(changed)
    assert_tabs_match_live()

    # Sagas move between days (a start read again from AWS, later than the row said).
    moved = list(Saga.objects.filter(pk__in=[s.pk for s in existing[::3]]))
    for row in moved:
        row.started_at += timedelta(days=2, hours=5)
    resync(moved)
    assert_tabs_match_live()
    assert SagaCount.objects.filter(n=0).count() == 0


def test_it_updates_the_tabs_when_one_saga_is_saved_between_syncs():
    seed(20)
    saga = Saga.objects.filter(kind="orders", status=SagaStatus.SUCCEEDED).first()
    assert saga is not None
    everything = queries.Filters()
    before = queries.status_counts("orders", everything, now=NOW)

    # What the case page does when it reads a new business status.
    saga.status = SagaStatus.NEEDS_REVIEW
    saga.started_at -= timedelta(days=3)
    saga.save()

    after = queries.status_counts("orders", everything, now=NOW)
    assert after[SagaStatus.NEEDS_REVIEW] == before.get(SagaStatus.NEEDS_REVIEW, 0) + 1
    assert after[SagaStatus.SUCCEEDED] == before[SagaStatus.SUCCEEDED] - 1
    assert_tabs_match_live()


def test_it_rebuilds_the_summary_of_sagas_written_without_it():
    seed(30)
    # Rows the summary never heard of (an import, a restore), and a drifted bucket.
    Saga.objects.bulk_create(
        [
            Saga(
                kind="orders",
                execution_arn=f"arn:aws:states:eu-west-1:1:execution:OrderFulfillment:bulk-{i}",
                execution_name=f"bulk-{i}",
                business_key=str(7000 + i),
                status=SagaStatus.SUCCEEDED,
                sfn_status="SUCCEEDED",
                started_at=NOW - timedelta(days=i % 5, minutes=7),
            )
            for i in range(25)
        ]
    )
    SagaCount.objects.filter(kind="closures").update(n=999)
    assert queries.status_counts("orders", queries.Filters(), now=NOW) != live(
        "orders", queries.Filters()
    )

    rebuild_counts()

    assert_tabs_match_live()


def test_it_shows_the_numbers_on_the_list_page_tabs_after_a_sync_and_a_full_sync(
    finished_world_readonly, viewer_client
):
    def tabs(url: str) -> dict[str, int]:
        cache.clear()
        response = viewer_client.get(url)
        assert response.status_code == 200
        return {t["value"]: t["n"] for t in response.context["tabs"] if t["n"]}

    def expected(**filters: object) -> dict[str, int]:
        f = queries.Filters(**filters)  # type: ignore[arg-type]
        n = live("orders", f)
        return {"": sum(n.values()), **n} if n else {}

    actions.sync_all_kinds()
    assert Saga.objects.filter(kind="orders").exists()
    assert tabs("/sagas/orders/") == expected()
    since = timezone.now() - timedelta(days=7)
    assert tabs("/sagas/orders/?range=7d") == expected(since=since)

    # The summary drifts from the rows (written around it), a full sync puts it right.
    Saga.objects.filter(kind="orders").update(
        started_at=timezone.now() - timedelta(days=3), status=SagaStatus.ABORTED
    )
    SagaCount.objects.filter(kind="orders").delete()
    actions.sync_all_kinds(kind="orders", full=True)

    assert tabs("/sagas/orders/") == expected()
    assert tabs("/sagas/orders/?range=24h") == expected(since=timezone.now() - timedelta(hours=24))


def test_it_counts_existing_sagas_into_the_tabs_when_migrating():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("sagas.migrations.0004_tab_count_summary")
    seed(40)
    SagaCount.objects.all().delete()

    migration.backfill(apps, None)

    assert_tabs_match_live()
