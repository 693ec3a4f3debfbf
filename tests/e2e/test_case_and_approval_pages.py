"""The pages people read at 2 AM, in a real browser against the demo stack: a four-eyes
closure released by two approvers, a case page opened by its business key, a live case
page that keeps the step the reader opened, the graph and the raw event history.

The demo world produces no failed compensation and no day-long wait, so two executions
are written into the demo's read model as the sync would store them (history cached,
terminal), built from hand-made histories of the order state machine's step names."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e

SM = "arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFulfillment"


def _event(i: int, prev: int, type_: str, at: datetime, **details) -> dict:
    return {
        "id": i,
        "previous_event_id": prev,
        "type": type_,
        "timestamp": at.isoformat(),
        "details": details,
    }


def _task(events: list, name: str, at: datetime, *, fail: str = "", resource="updateItem"):
    n = len(events)
    events.append(_event(n + 1, n, "TaskStateEntered", at, name=name, input="{}"))
    events.append(
        _event(n + 2, n + 1, "TaskScheduled", at, resource=resource, resourceType="dynamodb")
    )
    end = at + timedelta(seconds=1)
    if fail:
        events.append(_event(n + 3, n + 2, "TaskFailed", end, error=fail, cause=f"{fail}!"))
    else:
        events.append(_event(n + 3, n + 2, "TaskSucceeded", end, output="{}"))
    events.append(_event(n + 4, n + 3, "TaskStateExited", end, name=name, output="{}"))
    return end


def _compensation_failed(start: datetime) -> list[dict]:
    events = [_event(1, 0, "ExecutionStarted", start, input='{"data": {"orderId": "9901"}}')]
    at = _task(events, "ValidateOrder", start)
    at = _task(events, "ReserveInventory", at)
    at = _task(events, "ChargePayment", at, fail="PaymentDeclined")
    at = _task(events, "ReleaseInventory", at)
    at = _task(events, "RefundPayment", at, fail="Refund.ProviderDown")
    n = len(events)
    events.append(_event(n + 1, n, "TaskStateEntered", at, name="MarkNeedsReview", input="{}"))
    events.append(_event(n + 2, n + 1, "ExecutionFailed", at, error="NeedsReview", cause="x"))
    return events


def _long_wait(start: datetime) -> list[dict]:
    events = [_event(1, 0, "ExecutionStarted", start, input='{"data": {"orderId": "9902"}}')]
    at = _task(events, "ValidateOrder", start)
    at = _task(events, "ReserveInventory", at)
    n = len(events)
    events.append(_event(n + 1, n, "TaskStateEntered", at, name="AwaitApproval", input="{}"))
    events.append(
        _event(
            n + 2,
            n + 1,
            "TaskScheduled",
            at,
            resource="sendMessage.waitForTaskToken",
            resourceType="sqs",
        )
    )
    at = at + timedelta(hours=23, minutes=40)
    events.append(_event(n + 3, n + 2, "TaskSucceeded", at, output="{}"))
    events.append(_event(n + 4, n + 3, "TaskStateExited", at, name="AwaitApproval", output="{}"))
    for name in (
        "ChargePayment",
        "BurnLoyaltyPoints",
        "BookShipment",
        "MarkConfirmed",
        "PublishOrderConfirmed",
    ):
        at = _task(events, name, at + timedelta(seconds=2))
    n = len(events)
    events.append(_event(n + 1, n, "ExecutionSucceeded", at, output="{}"))
    return events


def _write_saga(stack, key: str, events: list[dict], sfn: str, status: str, error: str) -> None:
    """Store an execution the way the sync and the case page's cache store one."""
    db = stack.log_path.parent / "opsconsole.sqlite3"
    start = datetime.fromisoformat(events[0]["timestamp"])
    end = datetime.fromisoformat(events[-1]["timestamp"])

    def t(moment: datetime) -> str:
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")

    name = f"order-{key}-synthetic"
    saga = {
        "kind": "orders",
        "execution_arn": SM.replace("stateMachine", "execution") + f":{name}",
        "execution_name": name,
        "state_machine_arn": SM,
        "business_key": key,
        "correlation_id": f"corr-{key}",
        "initiator_type": "service",
        "initiator_id": "storefront",
        "status": status,
        "sfn_status": sfn,
        "started_at": t(start),
        "stopped_at": t(end),
        "last_error": error,
        "amount": "1250.00",
        "currency": "EUR",
        "synced_at": t(datetime.now(UTC)),
    }
    detail = {
        "history": json.dumps(events),
        "history_event_count": len(events),
        "history_complete": 1,
        "history_fetched_at": t(datetime.now(UTC)),
        "items": "[]",
    }
    with sqlite3.connect(db, timeout=30) as con:
        cur = con.execute(*_insert(con, "sagas_saga", saga))
        detail["saga_id"] = cur.lastrowid
        con.execute(*_insert(con, "sagas_sagadetail", detail))


def _insert(con: sqlite3.Connection, table: str, values: dict) -> tuple[str, list]:
    """An INSERT giving every NOT NULL column a value (the model's blank defaults live in
    Django, not in the schema): ours, else 0 or ''."""
    row = dict(values)
    for _, column, kind, notnull, default, pk in con.execute(f"PRAGMA table_info({table})"):
        if column in row or pk or not notnull or default is not None:
            continue
        numeric = any(w in kind.lower() for w in ("int", "bool", "real", "decimal"))
        row[column] = 0 if numeric else ("{}" if "json" in kind.lower() else "")
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    return f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values())  # noqa: S608


def test_it_releases_a_four_eyes_closure_with_two_approvers_and_shows_both(browser, demo_stack):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # a shared 2-core machine: pages may take seconds

    def approve_as(who: str) -> object:
        context = browser.new_context(
            base_url=demo_stack.base_url, viewport={"width": 1366, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, who)
        # Approvers land on their inbox.
        expect(page).to_have_url(re.compile(r"/approvals/$"))
        link = page.get_by_role("link", name=re.compile(r"close account 77"))
        for _ in range(60):
            if link.count():
                break
            page.wait_for_timeout(1000)
            page.reload()
        if who == "anna":
            expect(page.locator("nav.nav")).to_contain_text(re.compile(r"Approvals \(\d+\)"))
            shot(page, "pages-01-approver-inbox")
        link.first.click()
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name=re.compile(r"^Approve")).click()
        expect(page.locator("#request-status")).not_to_contain_text("Waiting for approval")
        return page

    approve_as("anna")
    page = approve_as("ben")
    four_eyes = page.locator("[data-four-eyes]")
    expect(four_eyes).to_contain_text("anna")
    expect(four_eyes).to_contain_text("ben")
    expect(page.locator("#decision-panel")).not_to_contain_text("1 of 2")
    shot(page, "pages-02-four-eyes-closure-released")
    page.get_by_role("link", name=re.compile("Open the case page")).click()
    for _ in range(60):  # a search by the execution until the sync has the saga
        if "/sagas/search/" not in page.url:
            break
        page.wait_for_timeout(1000)
        page.reload()
    panel = page.locator("#approvals-panel")
    expect(panel).to_contain_text("anna")
    expect(panel).to_contain_text("ben")
    shot(page, "pages-03-closure-case-page-both-approvers")


def test_it_opens_an_order_by_its_business_key_and_from_kind_colon_key(browser_page):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # a shared 2-core machine: pages may take seconds

    page = browser_page
    sign_in(page, "vera")
    for _ in range(60):
        response = page.goto("/sagas/orders/8843/")
        if response and response.status == 200:
            break
        page.wait_for_timeout(1000)
    expect(page.locator("h1")).to_contain_text("Order 8843")
    page.locator("form.global-search input[name=q]").fill("orders:8845")
    page.locator("form.global-search input[name=q]").press("Enter")
    expect(page).to_have_url(re.compile(r"/sagas/orders/8845/$"))
    expect(page.locator("h1")).to_contain_text("Order 8845")
    graph = page.locator("svg[data-graph]")
    for _ in range(30):  # the definition is read from AWS once (then cached)
        if graph.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(graph).to_be_visible()
    expect(
        page.locator('svg[data-graph] g.node.visited[data-state="MarkConfirmed"]')
    ).to_have_count(1)
    graph.scroll_into_view_if_needed()
    shot(page, "pages-04-case-page-with-graph-8845")
    page.locator("[data-history-link]").click()
    expect(page.locator("table[data-events] tr[data-event]").first).to_be_visible()
    expect(page.locator("[data-download]")).to_be_visible()
    page.locator("table[data-events] details summary").first.click()
    shot(page, "pages-05-raw-event-history-8845")


def test_it_keeps_an_opened_step_open_while_a_running_case_page_refreshes(browser_page):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # a shared 2-core machine: pages may take seconds

    page = browser_page
    sign_in(page, "vera")
    for _ in range(60):
        response = page.goto("/sagas/orders/8850/")
        if response and response.status == 200 and page.locator("[data-polling]").count():
            break
        page.wait_for_timeout(1000)
    page.evaluate(
        "window.__swaps = 0; document.addEventListener('htmx:afterSwap', () => window.__swaps++)"
    )
    step = page.locator('details[data-step="ValidateOrder"]').first
    step.locator("summary").click()
    expect(step).to_have_attribute("open", "")
    page.mouse.wheel(0, 500)
    page.wait_for_timeout(300)
    scrolled = page.evaluate("window.scrollY")
    for _ in range(60):  # two refreshes (every 4 s)
        if page.evaluate("window.__swaps") >= 2:
            break
        page.wait_for_timeout(500)
    assert page.evaluate("window.__swaps") >= 2, "the case page did not refresh itself"
    step = page.locator('details[data-step="ValidateOrder"]').first
    expect(step).to_have_attribute("open", "")
    assert abs(page.evaluate("window.scrollY") - scrolled) < 5
    shot(page, "pages-06-live-refresh-kept-the-step-open")


def test_it_shows_a_failed_compensation_and_a_compressed_day_long_wait(browser_page, demo_stack):
    from playwright.sync_api import expect

    expect.set_options(timeout=20_000)  # a shared 2-core machine: pages may take seconds

    now = datetime.now(UTC)
    _write_saga(
        demo_stack,
        "9901",
        _compensation_failed(now - timedelta(hours=1)),
        "FAILED",
        "compensation_failed",
        "NeedsReview",
    )
    _write_saga(
        demo_stack, "9902", _long_wait(now - timedelta(days=1)), "SUCCEEDED", "succeeded", ""
    )
    page = browser_page
    sign_in(page, "vera")
    page.goto("/sagas/orders/9901/")
    expect(page.locator("[data-saga-status]")).to_have_text("Compensation failed")
    expect(page.locator("[data-failed-compensation]")).to_contain_text("RefundPayment")
    shot(page, "pages-07-compensation-failed")
    page.goto("/sagas/orders/?status=compensation_failed")
    expect(page.locator("tr[data-status=compensation_failed]").first).to_be_visible()
    page.goto("/?overview=1")
    expect(page.locator("[data-compensation-failed-alarm]")).to_be_visible()
    shot(page, "pages-08-overview-flags-compensation-failed")
    page.goto("/sagas/orders/9902/")
    expect(page.locator("svg.gantt [data-idle-gap]")).to_have_count(1)
    expect(page.locator("svg.gantt [data-gap-label]")).to_contain_text("idle")
    shot(page, "pages-09-long-wait-compressed")
