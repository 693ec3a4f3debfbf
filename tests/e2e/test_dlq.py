"""An operator finds a needs-review order's dead letter from its case page, reads why it
failed, fixes a field, sends it back and sees it leave the DLQ (issue 10's "done when")."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def test_it_fixes_a_dead_letter_from_the_case_page_and_sends_it_back(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "oscar")
    page.goto("/sagas/search/?q=8847")
    panel = page.locator("#dead-letters-panel")
    letter = panel.locator("li", has_text="no courier slot")
    # Beat reads the DLQs (and puts the messages back) every 30 seconds.
    for _ in range(90):
        if letter.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    shot(page, "dlq-01-case-page-panel")
    letter.get_by_role("link").first.click()

    expect(page.get_by_role("heading", name="Why it is here")).to_be_visible()
    expect(page.locator("pre.dl-body")).to_contain_text("no courier slot")
    shot(page, "dlq-02-message")
    page.get_by_role("link", name=re.compile("Fix it, then send it back")).click()

    body = page.locator("textarea[name=body]")
    body.fill(body.input_value().replace("ZZ9 9ZZ", "EC1A 1BB"))
    page.get_by_role("button", name="Show the change").click()
    expect(page.locator("pre.diff")).to_contain_text('+  "postcode": "EC1A 1BB"')
    page.locator("input[name=ticket]").fill("INC0012345")
    page.locator("input[name=reason]").fill("postcode corrected with the customer")
    page.locator("input[name=confirm]").check()
    shot(page, "dlq-03-edit-diff")
    page.get_by_role("button", name="Send back", exact=True).click()

    progress = page.locator("#job-progress")
    expect(progress).to_be_visible()
    for _ in range(60):
        if progress.get_attribute("data-state") in ("finished", "failed", "cancelled"):
            break
        page.wait_for_timeout(1000)
        page.reload()
    shot(page, "dlq-04-job")
    expect(progress).to_have_attribute("data-state", "finished")

    page.goto("/recovery/dlq/shipments-dlq/?state=redriven")
    expect(page.locator("table.dlq-messages")).to_contain_text("8847")
    page.goto("/recovery/")
    depth = page.locator('tr[data-dlq="shipments-dlq"] td.num').first
    for _ in range(60):
        if depth.inner_text().strip() == "1":
            break
        page.wait_for_timeout(1000)
        page.reload()
    shot(page, "dlq-05-inbox-after")
    expect(depth).to_have_text("1")
