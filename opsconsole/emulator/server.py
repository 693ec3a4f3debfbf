"""The embedded AWS emulator: moto in server mode on the loopback, executing state machines.

moto's Step Functions engine calls the other services of a task back over HTTP on
`localhost:$MOTO_PORT`, so the server runs as its own process (its own interpreter, too:
thousands of executions don't compete with the supervisor for the GIL) with MOTO_PORT set
to the port it listens on. Execution is switched on through moto's config API.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import requests
from django.conf import settings

from opsconsole.settings import child_env

HOST = "127.0.0.1"
READY_TIMEOUT = 30.0


class EmulatorError(RuntimeError):
    """The emulator could not be started (port taken, crashed, never answered)."""


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers bind: connections of a stopped server in TIME_WAIT don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """An ephemeral port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmulatorServer:
    """One moto server process; `start()` returns once it answers with execution enabled."""

    def __init__(
        self,
        port: int | None = None,
        *,
        log_path: Path | None = None,
        throttling: str | dict[str, list[float]] | None = None,
    ) -> None:
        self.port = settings.EMULATOR_PORT if port is None else port
        # Step Functions throttling ("aws": AWS's defaults; see emulator/throttling.py).
        self.throttling = throttling
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> EmulatorServer:
        if self.port == 0:
            self.port = free_port()
        if not port_is_free(self.port):
            raise EmulatorError(
                f"port {self.port} on {HOST} is already in use; stop what is listening there "
                f"or choose another port (OPSCONSOLE_EMULATOR_PORT or --port)"
            )
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "opsconsole.emulator.moto_main",
                "-H",
                HOST,
                "-p",
                str(self.port),
            ],
            env=child_env(MOTO_PORT=str(self.port), PYTHONUNBUFFERED="1"),
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            cwd=settings.BASE_DIR,
            start_new_session=True,  # its own process group: stopped as a whole
        )
        try:
            self._wait_until_ready()
            response = requests.post(
                f"{self.url}/moto-api/config",
                json={"stepfunctions": self._sfn_config()},
                timeout=5,
            )
            response.raise_for_status()
        except BaseException:
            self.stop()
            raise
        return self

    def _sfn_config(self) -> dict[str, object]:
        config: dict[str, object] = {"execute_state_machine": True}
        if self.throttling:
            config["throttling"] = self.throttling
        return config

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise EmulatorError(
                    f"the emulator exited with code {code} during start-up"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            try:
                requests.get(f"{self.url}/moto-api/data.json", timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise EmulatorError(f"the emulator did not answer on {self.url} within {READY_TIMEOUT}s")

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def reset(self) -> None:
        """Forget every resource (moto's reset API); the server keeps running."""
        requests.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        requests.post(
            f"{self.url}/moto-api/config",
            json={"stepfunctions": self._sfn_config()},
            timeout=5,
        ).raise_for_status()

    def stop(self, timeout: float = 5.0) -> None:
        """Terminate the server's process group; kill it if it does not go in `timeout` s."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            stop_process_group(process, timeout)
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def stop_process_group(process: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM the process's group, then SIGKILL whatever is left after `timeout` s."""
    try:
        group = os.getpgid(process.pid)
    except ProcessLookupError:
        process.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        process.wait()
        return
    # The leader is gone; make sure nothing it started lingers in the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


@contextlib.contextmanager
def running(
    port: int | None = None,
    *,
    log_path: Path | None = None,
    throttling: str | dict[str, list[float]] | None = None,
) -> Iterator[EmulatorServer]:
    """A started emulator for the duration of the block (port 0: an ephemeral port)."""
    server = EmulatorServer(port, log_path=log_path, throttling=throttling)
    server.start()
    try:
        yield server
    finally:
        server.stop()
