"""The list, search and case pages: what a person sees, and that they cost a constant
number of queries however many sagas there are."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opsconsole.aws import stepfunctions
from opsconsole.aws.errors import AwsUnavailable
from sagas.models import Saga, SagaStatus, SyncState

from .factories import make_saga, saga_from_history

pytestmark = pytest.mark.django_db


def synced(*kinds: str) -> None:
    for kind in kinds or ("orders", "closures"):
        SyncState.objects.update_or_create(kind=kind, defaults={"last_success_at": timezone.now()})


def many(n: int, kind: str = "orders", start: int = 1000, **fields) -> list[Saga]:
    now = timezone.now()
    statuses = [
        SagaStatus.SUCCEEDED,
        SagaStatus.WAITING,
        SagaStatus.COMPENSATED,
        SagaStatus.RUNNING,
    ]
    return [
        make_saga(
            kind,
            str(start + i),
            statuses[i % 4],
            started=now - timedelta(minutes=i + 1),
            step="AwaitApproval" if i % 4 == 1 else "",
            **fields,
        )
        for i in range(n)
    ]


def rows_of(response) -> list[str]:
    return [s.business_key for s in (r["saga"] for r in response.context["rows"])]


def test_it_lists_a_kind_newest_first_with_status_tabs_and_counts(viewer_client):
    synced()
    many(8)
    make_saga("closures", "77", SagaStatus.WAITING)
    response = viewer_client.get("/sagas/orders/")
    assert response.status_code == 200
    assert rows_of(response) == [str(1000 + i) for i in range(8)]
    tabs = {t["value"]: t["n"] for t in response.context["tabs"]}
    assert tabs[""] == 8 and tabs["waiting"] == 2 and tabs["succeeded"] == 2
    html = response.content.decode()
    assert 'data-tab="waiting"' in html and "Waiting for approval" in html
    assert 'hx-push-url="true"' in html  # filters land in the URL
    assert "corr-orders-1000" in html


def test_it_filters_by_status_step_and_time_and_keeps_the_filters_in_the_links(viewer_client):
    synced()
    many(12)
    response = viewer_client.get("/sagas/orders/?status=waiting&step=AwaitApproval&range=1h")
    assert rows_of(response) == ["1001", "1005", "1009"]
    assert all(t["url"].count("step=AwaitApproval") == 1 for t in response.context["tabs"])
    old = viewer_client.get(
        "/sagas/orders/?until="
        + (timezone.now() - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
    )
    assert rows_of(old) == ["1010", "1011"]


def test_it_finds_stuck_sagas_past_their_step_sla(viewer_client):
    synced()
    now = timezone.now()
    make_saga(
        "orders",
        "late",
        SagaStatus.RUNNING,
        step="ChargePayment",
        step_deadline=now - timedelta(minutes=1),
    )
    make_saga(
        "orders",
        "fine",
        SagaStatus.RUNNING,
        step="ChargePayment",
        step_deadline=now + timedelta(minutes=1),
    )
    make_saga("orders", "done", SagaStatus.SUCCEEDED)
    response = viewer_client.get("/sagas/orders/?stuck=1")
    assert rows_of(response) == ["late"]
    assert "stuck" in response.content.decode()


def test_it_pages_with_a_cursor_not_an_offset(viewer_client):
    synced()
    many(120)
    first = viewer_client.get("/sagas/orders/")
    assert len(rows_of(first)) == 50
    second = viewer_client.get(first.context["next_url"])
    third = viewer_client.get(second.context["next_url"])
    assert rows_of(second)[0] == "1050" and rows_of(third) == [str(1100 + i) for i in range(20)]
    assert third.context["next_url"] is None
    back = viewer_client.get(third.context["prev_url"])
    assert rows_of(back) == rows_of(second)
    with CaptureQueriesContext(connection) as ctx:
        viewer_client.get(second.context["next_url"])
    assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)


def test_it_keeps_a_constant_number_of_queries_however_many_rows(
    viewer_client, django_assert_num_queries
):
    synced()
    many(3)
    with CaptureQueriesContext(connection) as small:
        viewer_client.get("/sagas/orders/?range=24h")
    many(60, start=5000, ticket="INC1")
    cache.clear()  # the status counts are cached a few seconds: count them again
    with django_assert_num_queries(len(small.captured_queries)):
        response = viewer_client.get("/sagas/orders/?range=24h")
    assert len(rows_of(response)) == 50
    assert response.context["tabs"][0]["n"] == 63
    with django_assert_num_queries(len(small.captured_queries) - 1):
        viewer_client.get("/sagas/orders/?range=24h")  # the counts come from the cache


def test_it_updates_in_place_with_htmx_and_polls_only_while_rows_are_running(viewer_client):
    synced()
    many(4)
    browser = viewer_client.get(
        "/sagas/orders/?status=waiting", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="saga-browser"
    )
    html = browser.content.decode()
    assert html.lstrip().startswith('<div id="saga-browser"')
    assert "<html" not in html
    rows = viewer_client.get(
        "/sagas/orders/?status=waiting", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="saga-rows"
    )
    body = rows.content.decode().strip()
    assert body.startswith('<tbody id="saga-rows"') and 'hx-trigger="every' in body
    done = viewer_client.get(
        "/sagas/orders/?status=succeeded", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="saga-rows"
    )
    assert "hx-trigger" not in done.content.decode()


def test_it_warns_when_the_sync_is_stale_or_failing(viewer_client, settings):
    many(1)
    never = viewer_client.get("/sagas/orders/").content.decode()
    assert "has not been synced from AWS yet" in never
    SyncState.objects.create(kind="orders", last_success_at=timezone.now() - timedelta(hours=1))
    stale = viewer_client.get("/sagas/orders/").content.decode()
    assert "was last synced" in stale
    SyncState.objects.filter(kind="orders").update(
        last_error="Unavailable: AWS endpoint unreachable", last_error_at=timezone.now()
    )
    failing = viewer_client.get("/sagas/orders/").content.decode()
    assert "The last sync of orders failed" in failing and "unreachable" in failing


def test_it_ignores_bad_filters_with_a_message_instead_of_failing(viewer_client):
    synced()
    many(2)
    response = viewer_client.get("/sagas/orders/?status=bogus&since=yesterday&after=%%%")
    assert response.status_code == 200
    assert len(rows_of(response)) == 2
    html = response.content.decode()
    assert "not understood" in html


def test_it_returns_404_for_an_unknown_kind(viewer_client):
    assert viewer_client.get("/sagas/parcels/").status_code == 404


def test_it_exports_the_filtered_view_as_csv(viewer_client):
    synced()
    many(8)
    make_saga("orders", "=cmd|' /C calc'!A0", SagaStatus.WAITING)
    response = viewer_client.get("/sagas/orders/export.csv?status=waiting")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["kind", "business_key", "status"]
    keys = [r[1] for r in rows[1:]]
    assert sorted(keys) == sorted(["1001", "1005", "'=cmd|' /C calc'!A0"])
    assert all(r[2] == "waiting" for r in rows[1:])


def test_it_exports_in_the_order_the_list_shows(viewer_client):
    synced()
    many(3)
    newest = viewer_client.get("/sagas/orders/export.csv")
    oldest = viewer_client.get("/sagas/orders/export.csv?order=oldest")
    keys = [r[1] for r in csv.reader(io.StringIO(b"".join(newest.streaming_content).decode()))]
    back = [r[1] for r in csv.reader(io.StringIO(b"".join(oldest.streaming_content).decode()))]
    assert keys[1:] == ["1000", "1001", "1002"] and back[1:] == ["1002", "1001", "1000"]
    assert newest["Content-Disposition"].startswith('attachment; filename="orders-')


def test_it_explains_a_time_range_that_ends_before_it_starts(viewer_client):
    synced()
    many(2)
    response = viewer_client.get("/sagas/orders/?since=2026-02-01T00:00&until=2026-01-01T00:00")
    assert response.status_code == 200
    assert len(rows_of(response)) == 2, "the reversed bound is dropped, not applied"
    assert "until: must be after From" in response.content.decode()


def test_it_finds_a_saga_by_any_id_and_opens_a_single_hit(viewer_client):
    synced()
    saga = make_saga("orders", "8842", SagaStatus.WAITING, ticket="INC42")
    make_saga("closures", "77", SagaStatus.WAITING, correlation_id="corr-shared")
    make_saga("orders", "9001", SagaStatus.SUCCEEDED, correlation_id="corr-shared")
    case = f"/sagas/orders/{saga.business_key}/?run={saga.execution_name}"
    for q in ("8842", "ORDER#8842", "INC42", "corr-orders-8842", saga.execution_name):
        response = viewer_client.get("/sagas/search/", {"q": q})
        assert response.status_code == 302 and response["Location"] == case, q
    both = viewer_client.get("/sagas/search/", {"q": "corr-shared"})
    assert both.status_code == 200
    assert sorted(s.business_key for s in (r["saga"] for r in both.context["rows"])) == [
        "77",
        "9001",
    ]
    none = viewer_client.get("/sagas/search/", {"q": "nothing-like-this"})
    assert "No saga matches" in none.content.decode()


def test_it_puts_the_search_box_in_the_header(viewer_client):
    html = viewer_client.get("/sagas/orders/").content.decode()
    assert 'class="global-search"' in html and 'action="/sagas/search/"' in html


def test_it_refuses_the_pages_to_someone_without_a_role(db):
    from tests.conftest import make_user, signed_in_client

    client = signed_in_client(make_user(None, username="nobody"))
    assert client.get("/sagas/orders/").status_code == 403
    assert client.get("/sagas/search/?q=1").status_code == 403


# --- the case page --------------------------------------------------------------------


def test_it_shows_a_compensated_order_with_its_compensation_steps_from_the_cache(
    viewer_client, django_assert_num_queries
):
    synced()
    saga = saga_from_history("order_declined", business_status="CANCELLED_COMPENSATED")
    url = f"/sagas/orders/{saga.business_key}/"
    response = viewer_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "failed in ChargePayment" in html
    assert "compensated: ReleaseInventory, MarkCompensated, PublishOrderFailed" in html
    assert html.count("data-compensation") >= 3
    assert 'data-step="ChargePayment" data-outcome="caught"' in html
    assert '<svg class="gantt"' in html
    assert "data-aws-banner" not in html  # nothing was fetched: the history is final
    assert "someone@example.net" not in html  # masked for a viewer
    assert "eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1" in html
    assert "data-polling" not in html  # it ended: no polling
    with CaptureQueriesContext(connection) as first:
        viewer_client.get(url)
    with django_assert_num_queries(len(first.captured_queries)):
        viewer_client.get(url)


def test_it_shows_a_waiting_order_that_refreshes_itself_and_its_approval_slot(
    viewer_client, monkeypatch
):
    synced()
    saga = saga_from_history(
        "order_waiting_service", status=SagaStatus.WAITING, step="AwaitApproval"
    )

    def unreachable(*args, **kwargs):
        raise AwsUnavailable("AWS endpoint unreachable during GetExecutionHistory")

    monkeypatch.setattr(stepfunctions, "get_history_after", unreachable)
    from opsconsole.aws import dynamodb

    monkeypatch.setattr(dynamodb, "query_partition", unreachable)
    response = viewer_client.get(f"/sagas/orders/{saga.business_key}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "data-aws-banner" in html and "AWS could not be reached" in html
    assert "Running; now in AwaitApproval" in html  # from the cached history
    assert "data-polling" in html and 'hx-trigger="every' in html
    assert "/approvals/saga/" in html  # the approvals panel slot
    live = viewer_client.get(
        f"/sagas/orders/{saga.business_key}/", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="case-live"
    )
    assert live.content.decode().lstrip().startswith('<div id="case-live"')


def test_it_lists_console_actions_on_the_saga(viewer_client):
    from opsconsole.audit.log import Actor, record

    synced()
    saga = saga_from_history("order_declined")
    record(
        Actor.system("ops"),
        "redrive_execution",
        result="succeeded",
        target_type="saga",
        target_id=saga.execution_arn,
        reason="payments fixed",
    )
    record(
        Actor(type="user", id="anna.approver@example.com", role="approver"),
        "approval.approve",
        result="succeeded",
        target_type="approval",
        target_id="17",
        correlation_id=saga.correlation_id,
        ticket="INC42",
    )
    record(
        Actor.system("ops"),
        "approval.approve",
        result="succeeded",
        target_type="approval",
        target_id="18",
        correlation_id="another-saga",
        ticket="INC99",
    )
    html = viewer_client.get(f"/sagas/orders/{saga.business_key}/").content.decode()
    assert "redrive_execution" in html and "payments fixed" in html
    # What was done to its approval request belongs to the saga too (same correlation id).
    assert "anna.approver@example.com" in html and "INC42" in html
    assert "INC99" not in html


def test_it_answers_404_for_a_saga_of_another_kind(viewer_client):
    saga = make_saga("closures", "77")
    assert viewer_client.get(f"/sagas/orders/{saga.business_key}/").status_code == 404


def test_it_keeps_a_custom_time_range_in_the_form(viewer_client):
    synced()
    html = viewer_client.get(
        "/sagas/orders/?since=2026-01-01T10:00&until=2026-01-02T09:30"
    ).content.decode()
    assert 'name="since" value="2026-01-01T10:00"' in html
    assert 'name="until" value="2026-01-02T09:30"' in html


# --- deep links by what people type ----------------------------------------------------


def test_it_opens_an_order_by_the_business_key_in_the_url(viewer_client):
    synced()
    make_saga("orders", "8842", SagaStatus.WAITING)
    wanted = make_saga("orders", "8843", SagaStatus.COMPENSATED)
    # A business key that is also another saga's console id is that business key.
    other = make_saga("orders", str(wanted.pk), SagaStatus.SUCCEEDED)
    assert viewer_client.get(f"/sagas/orders/{wanted.pk}/").context["saga"].pk == other.pk
    response = viewer_client.get("/sagas/orders/8843/")
    assert response.status_code == 200
    assert response.context["saga"].pk == wanted.pk
    assert "Order 8843" in response.content.decode()
    assert viewer_client.get("/sagas/orders/no-such-order/").status_code == 404


def test_it_lists_every_run_of_a_key_and_opens_the_one_asked_for(viewer_client):
    synced()
    now = timezone.now()
    old = make_saga("orders", "8843", SagaStatus.FAILED, started=now - timedelta(hours=2))
    new = make_saga("orders", "8843", SagaStatus.SUCCEEDED, started=now - timedelta(minutes=5))
    newest = viewer_client.get("/sagas/orders/8843/")
    assert newest.context["saga"].pk == new.pk
    html = newest.content.decode()
    assert "data-runs" in html and f"?run={old.execution_name}" in html
    older = viewer_client.get(f"/sagas/orders/8843/?run={old.execution_name}")
    assert older.context["saga"].pk == old.pk


def test_it_redirects_an_old_link_by_console_id(viewer_client):
    synced()
    saga = make_saga("orders", "8843", SagaStatus.COMPENSATED)
    response = viewer_client.get(f"/sagas/orders/{saga.pk}/")
    assert response.status_code == 301
    assert response["Location"] == f"/sagas/orders/8843/?run={saga.execution_name}"


def test_it_takes_kind_colon_key_in_the_header_search(viewer_client):
    synced()
    make_saga("orders", "8843", SagaStatus.COMPENSATED)
    response = viewer_client.get("/sagas/search/", {"q": "orders:8843"})
    assert response.status_code == 302 and response["Location"] == "/sagas/orders/8843/"
    assert viewer_client.get(response["Location"]).status_code == 200


def test_it_shows_amounts_like_approvals_and_each_console_action_once(viewer_client):
    import uuid

    from opsconsole.audit.models import AuditEvent

    synced()
    saga = make_saga("orders", "8843", SagaStatus.COMPENSATED, amount="2039.00", currency="EUR")
    attempt = uuid.uuid4()
    for result in ("started", "succeeded"):
        AuditEvent.objects.create(
            attempt_id=attempt,
            actor_type="user",
            actor="oscar@example.com",
            action="saga.redrive",
            target_type="saga",
            target_id=str(saga.pk),
            result=result,
        )
    html = viewer_client.get("/sagas/orders/8843/").content.decode()
    assert "2,039.00 EUR" in html
    assert html.count("<td>saga.redrive</td>") == 1
    assert "<td>succeeded" in html


def test_it_says_a_finished_saga_has_no_current_step(viewer_client):
    synced()
    make_saga("orders", "8846", SagaStatus.COMPENSATED, current_step="ReserveInventory")
    html = viewer_client.get("/sagas/orders/8846/").content.decode()
    assert "Current step" not in html
    assert "Where it stopped" in html and "no step is running" in html
