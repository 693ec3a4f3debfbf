"""On call: a DLQ alert fires on the overview, the operator acknowledges it and silences it
from the alert's page, then ends the silence."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def _firing_dlq_alert(page) -> None:
    """Open the alerts page once the worker has polled the DLQs and evaluated the rules."""
    from playwright.sync_api import expect

    page.goto("/alerts/?state=firing")
    row = page.locator('tr[data-alert="dlq-not-empty"][data-alert-state="firing"]')
    for _ in range(90):
        if row.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(row.first).to_be_visible()


def test_an_operator_acknowledges_and_silences_a_firing_dlq_alert(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "oscar")
    _firing_dlq_alert(page)
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(
        re.compile(r"Alerts \(\d+ firing\)")
    )
    page.goto("/")
    expect(page.locator('[data-counter="alerts-firing"]')).to_be_visible()
    shot(page, "alerts-01-overview-with-firing-alerts")

    _firing_dlq_alert(page)
    shot(page, "alerts-02-firing")
    page.locator('tr[data-alert="dlq-not-empty"] a[href^="/alerts/"]').first.click()
    expect(page.locator("[data-alert-link]")).to_have_attribute("href", re.compile("/recovery/"))
    page.get_by_placeholder("Note (what you do)").fill("looking at the payments worker")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status").or_(page.locator(".messages"))).to_contain_text(
        "Acknowledged"
    )
    expect(page.locator("[data-ack-info]")).to_contain_text("oscar.operator@example.com")
    expect(page.locator("[data-ack-info]")).to_contain_text("looking at the payments worker")
    shot(page, "alerts-03-acknowledged")

    page.locator("[data-silence-link]").click()
    expect(page.locator("textarea[name=matchers]")).to_contain_text("alertname=dlq-not-empty")
    page.get_by_label("Why").fill("redriving the DLQ after the fix")
    page.get_by_role("button", name="Silence").click()
    active = page.locator('tr[data-silence-state="active"]')
    expect(active.first).to_contain_text("redriving the DLQ after the fix")
    shot(page, "alerts-04-silenced")

    page.goto("/alerts/?state=firing")
    expect(page.locator('tr[data-alert="dlq-not-empty"] .silenced').first).to_be_visible()

    page.goto("/alerts/silences/")
    page.locator('tr[data-silence-state="active"]').first.get_by_role(
        "button", name="End now"
    ).click()
    expect(page.locator('tr[data-silence-state="active"]')).to_have_count(0)
    shot(page, "alerts-05-silence-ended")

    page.goto("/alerts/dashboard/")
    # A DLQ whose depth does not change draws a flat line: attached, but without height.
    expect(page.locator('[data-chart="DLQ depth (messages)"] polyline').first).to_be_attached()
    shot(page, "alerts-06-dashboard")
