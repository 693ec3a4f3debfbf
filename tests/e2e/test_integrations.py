"""An admin subscribes the demo's webhook receiver and sees signed deliveries verify; an
operator links a ServiceNow incident to a saga and the incident gets a work note."""

from __future__ import annotations

import base64
import json
import re
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import shot, sign_in

pytestmark = pytest.mark.e2e


def _banner_url(log: Path, label: str) -> str:
    """An address the demo prints in its banner (it prints them once the web is up)."""
    for _ in range(60):
        found = re.search(rf"{label}:\s+(http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.5)
    raise AssertionError(f"the demo banner names no {label}")


def _open_incident(servicenow: str, credentials: Path) -> tuple[str, str]:
    user, password = credentials.read_text().split()
    request = urllib.request.Request(  # noqa: S310 - the demo's loopback server
        f"{servicenow}/api/now/table/incident",
        data=json.dumps({"short_description": "Customer asks about order 8843"}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    request.add_header(
        "authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - loopback
        result = json.load(answer)["result"]
    return result["number"], result["sys_id"]


def test_an_admin_subscribes_a_webhook_and_an_operator_links_an_incident(browser, demo_stack):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    receiver = _banner_url(demo_stack.log_path, "Webhook receiver")
    servicenow = _banner_url(demo_stack.log_path, r"ServiceNow \(incidents\)")
    number, _ = _open_incident(servicenow, demo_stack.log_path.parent / "servicenow-credentials")

    admin = browser.new_context(base_url=demo_stack.base_url).new_page()  # type: ignore[attr-defined]
    sign_in(admin, "ada")
    admin.goto("/integrations/")
    admin.locator("input[name=url]").fill(f"{receiver}/hooks/demo")
    admin.get_by_role("button", name="Add endpoint").click()
    secret = admin.locator("[data-secret]").inner_text()
    assert secret.startswith("whsec_")
    shot(admin, "integrations-secret-shown-once")
    admin.goto(f"{receiver}/")
    admin.locator("input[name=secret]").fill(secret)
    admin.get_by_role("button", name="Save").click()

    operator = browser.new_context(base_url=demo_stack.base_url).new_page()  # type: ignore[attr-defined]
    sign_in(operator, "oscar")
    panel = operator.locator("#tickets-panel")
    # The sync brings order 8843 in within a few seconds of the demo starting.
    for _ in range(20):
        operator.goto("/sagas/orders/8843/")
        try:
            panel.locator("input[name=number]").wait_for(timeout=3000)  # loaded by hx-get
            break
        except PlaywrightTimeout:
            continue
    panel.locator("input[name=number]").fill(number)
    panel.get_by_role("button", name="Link").click()
    expect(operator.locator("#tickets-panel")).to_contain_text(number)

    # The delivery arrives signed and verifies; the incident gets its work note.
    for _ in range(30):
        admin.goto(f"{receiver}/")
        if "saga.ticket_linked" in admin.content():
            break
        admin.wait_for_timeout(1000)
    expect(admin.locator("table")).to_contain_text("verified")
    shot(admin, "integrations-receiver-verified")
    admin.goto(f"{servicenow}/")
    expect(admin.locator("table")).to_contain_text("saga.ticket_linked on orders 8843")
    shot(admin, "integrations-servicenow-work-note")
