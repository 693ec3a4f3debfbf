"""Support staff find an order from the header search and read what happened to it."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def test_it_finds_a_compensated_order_from_the_header_and_shows_its_unwinding(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "vera")
    page.goto("/sagas/orders/")
    search = page.locator("form.global-search input[name=q]")
    # The worker fills the read model from the emulator every few seconds.
    for _ in range(60):
        search.fill("8843")
        search.press("Enter")
        page.wait_for_load_state()
        if re.search(r"/sagas/orders/8843/\?run=", page.url):
            break
        page.wait_for_timeout(1000)
    expect(page).to_have_url(re.compile(r"/sagas/orders/8843/\?run="))
    status = page.locator("[data-saga-status]")
    for _ in range(30):
        if status.inner_text().strip().lower() == "compensated":
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(status).to_have_text(re.compile("compensated", re.I))
    expect(page.locator("[data-summary]")).to_contain_text("failed in ChargePayment")
    compensation = page.locator("details[data-compensation]")
    expect(compensation.first).to_be_visible()
    assert compensation.count() >= 3
    expect(page.locator('details[data-step="ChargePayment"]')).to_have_attribute(
        "data-outcome", "caught"
    )
    expect(page.locator("svg.gantt")).to_be_visible()
    shot(page, "sagas-01-case-page-compensated-order-8843")
    page.locator('details[data-step="MarkCompensated"] summary').first.click()
    shot(page, "sagas-02-compensation-step-expanded")


def test_it_filters_the_orders_list_in_place_and_keeps_the_filter_in_the_url(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "vera")
    page.goto("/sagas/orders/")
    page.locator("[data-tab=waiting]").click()
    expect(page).to_have_url(re.compile(r"status=waiting"))
    for _ in range(30):
        if page.locator("tr[data-status=waiting]").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    rows = page.locator("#saga-rows tr[data-saga]")
    assert rows.count() == page.locator("tr[data-status=waiting]").count() > 0
    shot(page, "sagas-03-orders-waiting-for-approval")
