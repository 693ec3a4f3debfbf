"""Signing in through the local OIDC provider in Chromium, as each demo user: each sees the
navigation their role allows; the user with no role sees a clear page, not a console."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e

EVERYONE = ["Orders", "Closures", "Approvals", "Recovery", "Alerts"]


@pytest.mark.parametrize(
    ("sub", "role", "nav"),
    [
        ("vera", "viewer", EVERYONE),
        ("oscar", "operator", EVERYONE),
        ("anna", "approver", EVERYONE),
        ("ada", "admin", [*EVERYONE, "Audit", "API tokens", "Integrations"]),
    ],
)
def test_it_signs_in_each_demo_user_and_shows_what_their_role_allows(browser_page, sub, role, nav):
    from playwright.sync_api import expect

    page = browser_page
    page.goto("/auth/login/")
    expect(page.locator("#demo-users")).to_contain_text(sub)
    shot(page, f"sign-in-01-{sub}-sign-in-page")

    sign_in(page, sub)

    expect(page.locator(".whoami .badge.role")).to_have_text(role)
    # Entries may carry a live count ("Approvals (12)", "Alerts (3 firing)"): the words count.
    labels = [
        re.sub(r"\s*\(.*\)$", "", t).strip() for t in page.locator("nav.nav a").all_inner_texts()
    ]
    assert labels == nav
    shot(page, f"sign-in-02-{sub}-{role}-home")

    page.goto("/audit/")
    if role == "admin":
        expect(page.locator("h1")).to_have_text("Audit log")
        expect(page.locator("#audit-events")).to_contain_text("auth.sign_in")
    else:
        expect(page.locator("h1")).to_have_text("Not allowed")
    shot(page, f"sign-in-03-{sub}-audit")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/auth/login/"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login/"))


def test_it_tells_a_person_without_a_role_that_they_have_none(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "nora")

    expect(page.locator("h1")).to_have_text("You have no role here")
    assert page.locator("nav.nav").count() == 0
    shot(page, "sign-in-04-nora-no-role")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/auth/login/"))
