"""The demo's integration world: a local ServiceNow, webhook receiver and mail sink."""

from __future__ import annotations

import requests

from opsconsole.emulator import ticketing


def test_it_starts_the_three_servers_and_tells_the_console_how_to_reach_them(tmp_path):
    world = ticketing.start(tmp_path, tmp_path / "ticketing.log")
    try:
        env = world.env(web_port=8123)
        assert env["OPSCONSOLE_SERVICENOW_URL"] == world.servicenow.url
        assert env["OPSCONSOLE_INTEGRATIONS_ALLOW"] == "127.0.0.1"
        assert env["OPSCONSOLE_PUBLIC_URL"] == "http://127.0.0.1:8123"
        user, password = world.secrets_file.read_text().split()
        # the Table API wants its credentials; the page for people does not
        table = f"{world.servicenow.url}/api/now/table/incident"
        assert requests.get(table, timeout=5).status_code == 401
        made = requests.post(
            table, json={"short_description": "x"}, auth=(user, password), timeout=5
        ).json()["result"]
        assert made["number"].startswith("INC")
        assert "INC" in requests.get(world.servicenow.url + "/", timeout=5).text
        assert requests.get(world.receiver.url + "/receipts.json", timeout=5).json()["unique"] == 0
        assert any("Webhook receiver" in line for line in world.banner())
    finally:
        world.stop()
