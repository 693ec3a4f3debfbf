"""The emulator process starts on the loopback, executes state machines, and stops cleanly."""

from __future__ import annotations

import socket

import pytest
import requests

from opsconsole.aws import clients, stepfunctions
from opsconsole.emulator import server


def test_it_starts_answers_and_stops_without_leaving_a_process():
    emulator = server.EmulatorServer(0).start()
    process = emulator.process
    try:
        assert emulator.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{emulator.url}/moto-api/data.json", timeout=5).ok
        with clients.endpoint_override(emulator.url):
            assert stepfunctions.list_state_machines() == []
    finally:
        emulator.stop()
    assert process is not None and process.poll() is not None
    assert server.port_is_free(emulator.port)
    assert not emulator.running()


def test_it_refuses_a_port_that_is_taken_with_a_clear_message():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(server.EmulatorError, match=f"port {port} .* already in use"):
            server.EmulatorServer(port).start()


def test_it_runs_the_demo_world_in_server_mode():
    from opsconsole.emulator import seed, world
    from tests.helpers import wait_until

    with server.running(0) as emulator, clients.endpoint_override(emulator.url):
        built = world.build()
        planned = seed._order("4242", "succeeded", 4242)
        arn = stepfunctions.start_execution(
            built.order_state_machine_arn, "order-4242-1", planned.payload
        )
        done = wait_until(
            lambda: (e := stepfunctions.describe_execution(arn)) and e.status != "RUNNING" and e,
            timeout=30,
            what="the order to finish in the emulator process",
        )
        assert done.status == "SUCCEEDED"
