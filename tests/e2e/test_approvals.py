"""An approver clears a high-value order from the inbox and sees its saga move on; the
saga's own initiator is refused."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def _open_request(page, summary: str) -> None:
    """Open the inbox and the request whose summary starts with `summary`, once collected."""
    from playwright.sync_api import expect

    page.goto("/approvals/")
    link = page.get_by_role("link", name=re.compile(re.escape(summary)))
    # The worker drains the approval queues every second or two; reload until it has.
    for _ in range(60):
        if link.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(link.first).to_be_visible()
    link.first.click()


def test_it_approves_a_high_value_order_and_the_saga_moves_on(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "anna")
    _open_request(page, "order 8842,")
    shot(page, "approvals-01-request-8842")
    # Approving asks first, naming what it does.
    page.once(
        "dialog", lambda dialog: dialog.message.startswith("Approve order 8842") and dialog.accept()
    )
    page.get_by_role("button", name=re.compile(r"^Approve")).click()
    expect(page.get_by_role("status")).to_contain_text("Approved")
    expect(page.locator("#request-status")).to_contain_text("Approved")
    shot(page, "approvals-02-approved")

    page.get_by_role("link", name=re.compile("Open the case page")).click()
    status = page.locator("[data-saga-status]")
    for _ in range(60):
        if status.count() and status.first.inner_text().strip().lower() == "succeeded":
            break
        page.wait_for_timeout(1000)
        page.reload()
    shot(page, "approvals-03-case-page-after-approval")
    expect(status.first).to_have_text(re.compile("succeeded", re.I))


def test_it_refuses_the_initiator_of_a_saga(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "anna")
    _open_request(page, "order 8844,")
    expect(page.locator("[data-self-approval]")).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Approve"))).to_have_count(0)
    shot(page, "approvals-04-initiator-refused")
