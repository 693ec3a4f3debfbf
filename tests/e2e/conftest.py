"""The end-to-end harness: the whole demo stack (`manage.py demo`) on free loopback ports,
and a real headless Chromium driven by Playwright. Every step saves a screenshot under
tests/e2e/screenshots/ so a person can look at what the browser saw."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = os.environ.get("OPSCONSOLE_E2E_CHROMIUM", "/usr/bin/chromium")
STACK_START_TIMEOUT = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class DemoStack:
    base_url: str
    emulator_url: str
    oidc_url: str
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback only
            return response.status
    except Exception:  # noqa: BLE001 - not up yet
        return 0


@pytest.fixture(scope="session")
def demo_stack() -> Iterator[DemoStack]:
    """`python manage.py demo` with its emulator, OIDC provider, worker, beat and web server."""
    web, emulator, oidc = _free_port(), _free_port(), _free_port()
    var_dir = Path(tempfile.mkdtemp(prefix="opsconsole-e2e-"))
    log_path = var_dir / "demo.log"
    env = {
        **os.environ,
        "OPSCONSOLE_VAR_DIR": str(var_dir),
        "OPSCONSOLE_WEB_PORT": str(web),
        "OPSCONSOLE_EMULATOR_PORT": str(emulator),
        "OPSCONSOLE_OIDC_MOCK_PORT": str(oidc),
        "OPSCONSOLE_SYNC_INTERVAL": "2",
        "OPSCONSOLE_APPROVALS_POLL_INTERVAL": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)  # the demo is the embedded default: SQLite
    env.pop("CELERY_BROKER_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "demo"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack = DemoStack(
        base_url=f"http://127.0.0.1:{web}",
        emulator_url=f"http://127.0.0.1:{emulator}",
        oidc_url=f"http://127.0.0.1:{oidc}",
        log_path=log_path,
    )
    try:
        deadline = time.monotonic() + STACK_START_TIMEOUT
        while _get(f"{stack.base_url}/healthz") != 200:
            if process.poll() is not None:
                pytest.fail(f"the demo stack exited ({process.returncode}):\n{stack.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the demo stack did not answer in time:\n{stack.log_tail()}")
            time.sleep(0.5)
        yield stack
    finally:
        # One SIGINT is what a person's Ctrl-C sends; the supervisor must stop everything.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def browser_page(browser: object, demo_stack: DemoStack) -> Iterator[object]:
    context = browser.new_context(  # type: ignore[attr-defined]
        base_url=demo_stack.base_url, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def shot(page: object, name: str) -> Path:
    """Save a full-page screenshot named after the step."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path


def sign_in(page: object, sub: str) -> None:
    """Sign in through the local OIDC provider's real authorization form as `sub`."""
    page.goto("/auth/login/")  # type: ignore[attr-defined]
    page.get_by_role("link", name=re.compile("Sign in with your identity provider")).click()  # type: ignore[attr-defined]
    page.locator("input[name=sub]").fill(sub)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Authorize").click()  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"^(?!.*/oauth2/).*$"))  # type: ignore[attr-defined]
