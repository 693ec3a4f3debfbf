"""`manage.py demo` refuses to start on a taken port, with a message that says what to do."""

from __future__ import annotations

import socket

import pytest
from django.core.management import CommandError, call_command


def test_it_says_which_port_is_taken():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"emulator port {port} .* already in use.*--port"):
            call_command("demo", port=port, seed_only=True)


def test_it_tells_seed_world_users_how_to_start_the_emulator():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    with pytest.raises(CommandError, match="demo --seed-only"):
        call_command("seed_world", endpoint=f"http://127.0.0.1:{free}", orders=1, closures=0)
