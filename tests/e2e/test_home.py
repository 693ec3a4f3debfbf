"""The foundation's end-to-end promise: the demo stack serves real counts from the emulator."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def test_it_shows_seeded_counts_per_kind_on_the_home_page(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login/"))
    shot(page, "home-01-sign-in-page")
    sign_in(page, "vera")
    page.goto("/")
    orders = page.locator("[data-kind=orders]")
    closures = page.locator("[data-kind=closures]")
    # Counts come from the read model, which the worker fills from the emulator every few s.
    for _ in range(40):
        if orders.locator("[data-total]").inner_text().split()[0] not in ("0", ""):
            break
        page.wait_for_timeout(1000)
        page.reload()
    shot(page, "home-02-overview-with-counts")
    assert int(orders.locator("[data-total]").inner_text().split()[0]) > 0
    assert int(closures.locator("[data-total]").inner_text().split()[0]) > 0
    for status in ("succeeded", "compensated", "waiting"):
        count = orders.locator(f"[data-status={status}] strong").inner_text()
        assert int(count) > 0, f"no {status} orders on the home page"
