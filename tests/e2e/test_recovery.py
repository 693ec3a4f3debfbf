"""An operator redrives an aborted order from its case page, and redrives a parked order in
bulk after fixing its cause (it stopped, uncaught, at RebookShipment): dry run, job,
progress, verified outcome."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, shot, sign_in

pytestmark = pytest.mark.e2e


def _case_page(page, key: str) -> None:
    search = page.locator("form.global-search input[name=q]")
    for _ in range(60):
        search.fill(key)
        search.press("Enter")
        page.wait_for_load_state()
        if re.search(r"/sagas/orders/\d+/(\?.*)?$", page.url):
            return
        page.wait_for_timeout(1000)


def test_an_operator_redrives_an_aborted_order_from_its_case_page(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "oscar")
    page.goto("/sagas/orders/")
    _case_page(page, "8851")
    panel = page.locator("#recovery-panel")
    expect(panel).to_be_visible()
    shot(page, "recovery-01-case-page-aborted-order-8851")
    panel.get_by_role("link", name="Redrive from the failed step").click()
    expect(page.locator("#what-happens")).to_contain_text("resumes at AwaitDispatchDate")
    shot(page, "recovery-02-redrive-preview")
    page.locator("input[name=ticket]").fill("INC0012345")
    page.locator("textarea[name=reason]").fill("customer asked to keep the pre-order")
    page.locator("input[name=confirm]").check()
    page.get_by_role("button", name="Redrive from the failed step").click()
    expect(page.locator(".messages")).to_contain_text("Redrive #1 sent")
    expect(page.locator("[data-recovery-action]").first).to_contain_text("Redrive #1")
    shot(page, "recovery-03-redriven")


def test_an_operator_redrives_parked_orders_in_bulk_after_fixing_the_cause(
    browser_page, demo_stack
):
    from playwright.sync_api import expect

    subprocess.run(  # noqa: S603 - our own management command
        [
            sys.executable,
            "manage.py",
            "demo_fix",
            "reopen-slot",
            "--endpoint",
            demo_stack.emulator_url,
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    page = browser_page
    sign_in(page, "oscar")
    page.goto("/recovery/bulk/?kind=orders&action=redrive&q=8847")
    expect(page.locator("#eligible-count")).to_have_text("1")
    shot(page, "recovery-04-bulk-dry-run")
    page.locator("input[name=ticket]").fill("INC0042")
    page.locator("input[name=confirm]").check()
    page.get_by_role("button", name="Start the job").click()
    expect(page).to_have_url(re.compile(r"/recovery/jobs/\d+/$"))
    progress = page.locator("#job-progress")
    for _ in range(90):
        if progress.get_attribute("data-state") == "finished":
            break
        page.wait_for_timeout(1000)
        page.reload()
    shot(page, "recovery-05-bulk-job-finished")
    expect(progress).to_have_attribute("data-state", "finished")
    expect(page.locator("tr[data-item]").first).to_contain_text(re.compile("succeeded", re.I))
