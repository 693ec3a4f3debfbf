"""The API's documentation and the console's own error pages, in a real browser under the
strict content security policy (no inline scripts, no CDN)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def _watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


def test_it_renders_swagger_ui_from_the_committed_schema(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "vera")
    problems = _watch_console(page)
    page.goto("/api/v1/docs/")
    # Swagger UI builds its operation list from /api/v1/schema/ with its own script files.
    expect(page.locator(".opblock-summary-path").first).to_be_visible(timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/sagas/" in p for p in paths)
    assert any("decision" in p for p in paths)
    shot(page, "api-01-swagger-ui")
    blocked = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert not blocked, blocked


def test_it_renders_redoc_from_the_committed_schema(browser_page):
    from playwright.sync_api import expect

    page = browser_page
    sign_in(page, "vera")
    page.goto("/api/v1/redoc/")
    expect(page.get_by_text("/api/v1/approvals/{id}/decision/").first).to_be_attached(
        timeout=20_000
    )
    shot(page, "api-02-redoc")


def test_it_shows_its_own_not_found_page_with_a_request_id(browser_page):
    page = browser_page
    sign_in(page, "vera")
    response = page.goto("/sagas/orders/999999999/")
    assert response is not None and response.status == 404
    text = page.locator("main").inner_text()
    assert "Not found" in text and "Request id" in text
    assert "Traceback" not in page.content() and "URLconf" not in page.content()
    shot(page, "errors-01-not-found")
