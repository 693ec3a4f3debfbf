"""`python manage.py demo`: the supervisor behind `make demo`.

It migrates SQLite, starts the AWS emulator and builds and seeds the demo world, starts the
local OIDC provider, a Celery worker with beat and the web server as child processes (each
in its own process group), keeps the world moving with the traffic generator, and prints
how to sign in. One Ctrl-C (or SIGTERM) stops everything: children get SIGTERM, then
SIGKILL after a timeout; a second Ctrl-C skips the wait.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from opsconsole.aws import clients
from opsconsole.emulator import consumers, metrics, seed, server, ticketing, traffic, world
from opsconsole.emulator.users import DEMO_USERS
from opsconsole.settings import child_env

# A child that has not left this long after SIGTERM is killed: Celery's tasks are acks_late
# and safe to run twice, so a warm shutdown is a nicety, not a need. One Ctrl-C must stop
# everything within about five seconds.
STOP_TIMEOUT = 2.5
WEB_READY_TIMEOUT = 60.0


def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
    except OSError:
        return None


# Loaded in the parent: between fork and exec only the prctl call itself may run.
_LIBC = _libc()


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Linux: a child gets SIGTERM if the supervisor dies without cleaning up (kill -9)."""
    _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Child:
    """A supervised child process in its own process group, logging to a file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Child:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own argv, no shell
                self.argv,
                env=self.env,
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if _LIBC is not None else None,
            )
        finally:
            log.close()
        return self

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        if self.process is not None:
            server.stop_process_group(self.process, timeout)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Command(BaseCommand):
    help = (
        "Run the whole console on this machine: AWS emulator with the seeded demo world, "
        "local OIDC provider, Celery worker and beat, and the web server. Ctrl-C stops all."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=seed.DEFAULT_ORDERS)
        parser.add_argument("--closures", type=int, default=seed.DEFAULT_CLOSURES)
        parser.add_argument("--no-traffic", action="store_true", help="no live traffic")
        parser.add_argument("--traffic-interval", type=float, default=4.0)
        parser.add_argument("--port", type=int, default=settings.EMULATOR_PORT, help="emulator")
        parser.add_argument("--web-port", type=int, default=settings.WEB_PORT)
        parser.add_argument("--oidc-port", type=int, default=settings.OIDC_MOCK_PORT)
        parser.add_argument(
            "--seed-only",
            action="store_true",
            help="start the emulator, build and seed the world, then keep only the emulator "
            "running (for benchmarks); see also `manage.py seed_world`",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stopping = threading.Event()
        self.children: list[Child] = []
        self.emulator: server.EmulatorServer | None = None
        self.oidc_handle: Any = None
        self.traffic: traffic.TrafficGenerator | None = None
        self.consumers: consumers.Consumers | None = None
        self.metrics: metrics.MetricsPublisher | None = None
        self.ticketing: ticketing.LocalTicketing | None = None
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self._run(options)
        finally:
            self._shutdown()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if getattr(self, "_called_from_command_line", False):
            # Everything is stopped and flushed; tearing down the interpreter (the seeded
            # world's clients and objects) would only add seconds to the Ctrl-C.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    # --- signals and shutdown --------------------------------------------------------------

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if self.stopping.is_set():
            # A second Ctrl-C: don't wait politely any more.
            for child in self.children:
                if child.process is not None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(child.process.pid, signal.SIGKILL)
            return
        self.stdout.write("\nStopping the demo (Ctrl-C again to force)...")
        self.stopping.set()

    def _shutdown(self) -> None:
        self.stopping.set()
        # Everything is told at once, so one slow goodbye doesn't queue the others.
        stoppers = [threading.Thread(target=child.stop) for child in self.children]
        # The in-process helpers' threads are daemons: a call stuck on the emulator that is
        # going away must not hold the exit beyond the grace period.
        for helper in (self.traffic, self.consumers, self.metrics):
            if helper is not None:
                stoppers.append(threading.Thread(target=helper.stop, args=(STOP_TIMEOUT,)))
        if self.emulator is not None:
            stoppers.append(threading.Thread(target=self.emulator.stop, args=(STOP_TIMEOUT,)))
        if self.oidc_handle is not None:
            stoppers.append(threading.Thread(target=self._stop_oidc))
        if self.ticketing is not None:
            stoppers.append(threading.Thread(target=self.ticketing.stop))
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join()
        clients.set_endpoint_override(None)
        if self.children or self.emulator is not None:
            self.stdout.write("Everything is stopped.")

    def _stop_oidc(self) -> None:
        with contextlib.suppress(Exception):
            self.oidc_handle.stop()

    def _sleep(self, seconds: float) -> bool:
        """Wait, returning True when the demo is being stopped."""
        return self.stopping.wait(seconds)

    # --- start-up ------------------------------------------------------------------------

    def _check_ports(self, ports: dict[str, int]) -> None:
        taken = [
            f"{what} port {port}" for what, port in ports.items() if not server.port_is_free(port)
        ]
        if taken:
            raise CommandError(
                f"Cannot start the demo: {', '.join(taken)} on 127.0.0.1 is already in use. "
                "Is another demo running? Stop it, or choose other ports with --port, "
                "--web-port and --oidc-port (or OPSCONSOLE_EMULATOR_PORT, OPSCONSOLE_WEB_PORT, "
                "OPSCONSOLE_OIDC_MOCK_PORT)."
            )

    def _start_clean(self, var: Path) -> str:
        """The emulator starts empty every time, so what the last run's read model and broker
        hold describes executions that no longer exist (their task tokens are dead). Start
        from a clean database and broker; keep the last database aside for a look."""
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
            if isinstance(folder, str) and Path(folder).is_dir():
                for stale in Path(folder).iterdir():
                    stale.unlink(missing_ok=True)
        database = settings.DATABASES["default"]
        if database["ENGINE"] != "django.db.backends.sqlite3":
            return (
                "The database is not the embedded SQLite: it keeps the sagas of earlier runs; "
                "run `manage.py flush` first for a clean world."
            )
        path = Path(database["NAME"])
        if not path.exists():
            return "A fresh world: a new database."
        connections.close_all()
        previous = path.with_name(path.stem + ".previous" + path.suffix)
        os.replace(path, previous)
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return (
            "A fresh world: the emulator starts empty, so the console starts from a clean "
            f"database (the last run's is kept as {previous.name})."
        )

    def _run(self, options: dict[str, Any]) -> None:
        port, web_port, oidc_port = options["port"], options["web_port"], options["oidc_port"]
        seed_only = options["seed_only"]
        ports = (
            {"emulator": port}
            if seed_only
            else {"emulator": port, "web": web_port, "OIDC provider": oidc_port}
        )
        self._check_ports(ports)
        var = Path(settings.VAR_DIR)
        logs = var / "log"
        logs.mkdir(parents=True, exist_ok=True)
        # The embedded (filesystem) Celery broker needs its folders before the worker starts.
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
            if isinstance(folder, str):
                Path(folder).mkdir(parents=True, exist_ok=True)
        began = time.monotonic()

        self.fresh_note = ""
        if not seed_only:
            self.fresh_note = self._start_clean(var)
            self.stdout.write("Migrating the database...")
            call_command("migrate", interactive=False, verbosity=0)

        self.stdout.write(f"Starting the AWS emulator on 127.0.0.1:{port}...")
        try:
            # Throttling Step Functions like AWS (its documented defaults): the console's
            # sync must keep to its budget here too.
            self.emulator = server.EmulatorServer(
                port, log_path=logs / "emulator.log", throttling="aws"
            ).start()
        except server.EmulatorError as exc:
            raise CommandError(str(exc)) from exc
        clients.set_endpoint_override(self.emulator.url)

        built_at = time.monotonic()
        built = world.build()
        # The downstream services consume from the start, so queues don't pile up.
        self.consumers = consumers.Consumers(built).start()
        # What CloudWatch would publish for the world (moto publishes no AWS/* metrics).
        self.metrics = metrics.MetricsPublisher(built, interval=20.0).start()
        report = seed.seed(
            options["orders"],
            options["closures"],
            built=built,
            progress=lambda message: self.stdout.write(f"  {message}"),
        )
        self.stdout.write(
            f"Demo world built and seeded in {time.monotonic() - built_at:.1f}s: "
            f"{report.orders} orders, {report.closures} closures"
            + (f" ({report.failed_starts} failed to start)" if report.failed_starts else "")
        )
        if self.stopping.is_set():
            return
        if seed_only:
            self.stdout.write(
                f"Emulator running at {self.emulator.url} (seed only). Ctrl-C to stop."
            )
            while not self._sleep(1.0):
                if not self.emulator.running():
                    raise CommandError(
                        "the emulator stopped unexpectedly; see var/log/emulator.log"
                    )
            return

        env = child_env(
            OPSCONSOLE_AWS_ENDPOINT_URL=self.emulator.url,
            OPSCONSOLE_EMULATOR_PORT=str(port),
            OPSCONSOLE_WEB_PORT=str(web_port),
            OPSCONSOLE_OIDC_MOCK_PORT=str(oidc_port),
            OPSCONSOLE_OIDC_DEMO_USERS="1",
            # As in production: no debug pages; the console's own error pages instead.
            OPSCONSOLE_DEBUG="0",
            OPSCONSOLE_ALLOWED_HOSTS="127.0.0.1,localhost",
            OPSCONSOLE_LOCAL_KEYS="1",
            OPSCONSOLE_SECURE="0",
            OPSCONSOLE_VAR_DIR=str(var),
            DJANGO_SETTINGS_MODULE="opsconsole.settings",
            PYTHONUNBUFFERED="1",
        )
        env.update(self._start_oidc(oidc_port, web_port))
        # The integrations' outside world: ServiceNow, a webhook receiver, a mail sink.
        self.ticketing = ticketing.start(var, logs / "ticketing.log")
        env.update(self.ticketing.env(web_port))
        _write_command_env(var, env)

        python = sys.executable
        self.children.append(
            Child(
                "celery",
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "opsconsole",
                    "worker",
                    "-B",
                    "-l",
                    "INFO",
                    "--concurrency",
                    "2",
                ],
                env,
                logs / "celery.log",
            ).start()
        )
        web = Child(
            "web",
            # --insecure: runserver serves the static files itself with DEBUG off (a
            # production deployment serves them from STATIC_ROOT instead).
            [python, "manage.py", "runserver", f"127.0.0.1:{web_port}", "--noreload", "--insecure"],
            env,
            logs / "web.log",
        ).start()
        self.children.append(web)
        url = f"http://127.0.0.1:{web_port}/"
        if not self._wait_for_web(url, web):
            return

        if not options["no_traffic"]:
            self.traffic = traffic.TrafficGenerator(
                built,
                interval=options["traffic_interval"],
                first_order=max(20000, 9000 + options["orders"] + 1000),
                first_account=max(5000, 1000 + options["closures"] + 1000),
            ).start()
        self._banner(url, logs, time.monotonic() - began)
        self._supervise()

    def _start_oidc(self, oidc_port: int, web_port: int) -> dict[str, str]:
        if importlib.util.find_spec("opsconsole.emulator.oidc") is None:
            self.stdout.write(
                self.style.WARNING(
                    "The local OIDC provider (opsconsole/emulator/oidc.py) is not available: "
                    "sign-in will not work in this demo."
                )
            )
            return {}
        oidc = importlib.import_module("opsconsole.emulator.oidc")
        self.stdout.write(f"Starting the local OIDC provider on 127.0.0.1:{oidc_port}...")
        redirect_uris = [
            f"http://{host}:{web_port}/oidc/callback/" for host in ("127.0.0.1", "localhost")
        ]
        try:
            self.oidc_handle = oidc.start(oidc_port, redirect_uris=redirect_uris)
        except TypeError:  # an older start(port) without redirect URIs
            self.oidc_handle = oidc.start(oidc_port)
        endpoints = getattr(self.oidc_handle, "endpoints", None)
        return dict(endpoints) if isinstance(endpoints, dict) else {}

    def _wait_for_web(self, url: str, web: Child) -> bool:
        self.stdout.write(f"Starting Celery (worker + beat) and the web server on {url} ...")
        deadline = time.monotonic() + WEB_READY_TIMEOUT
        while time.monotonic() < deadline:
            if self._sleep(0.3):
                return False
            if web.exited() is not None:
                raise CommandError(f"the web server exited with code {web.exited()}:\n{web.tail()}")
            try:
                requests.get(f"{url}healthz", timeout=2)
                return True
            except requests.RequestException:
                continue
        raise CommandError(f"the web server did not answer within {WEB_READY_TIMEOUT:.0f}s")

    def _banner(self, url: str, logs: Path, seconds: float) -> None:
        w = seed.WELL_KNOWN
        lines = [
            "",
            self.style.SUCCESS(f"opsconsole demo is up after {seconds:.0f}s: {url}"),
            "",
            "Sign in with the local OIDC provider as one of (no password):",
        ]
        for u in DEMO_USERS:
            lines.append(f"  {u.email:<32} {u.role or 'no role (is refused)'}")
        lines += [
            "",
            f"Try: order {w['order_waiting_service']} (waiting for approval), "
            f"order {w['order_declined']} (compensated), order {w['order_aborted']} "
            f"(stopped by an operator), order {w['order_execution_timed_out']} (timed out as a "
            f"whole), account {w['closure_waiting']} (a closure waiting "
            "for approval: it takes two different approvers).",
            f"Recovery: order {w['order_needs_review']} and account "
            f"{w['closure_failed_billing']} failed at a step; fix the cause "
            "(`manage.py demo_fix reopen-slot`, `clear-billing 79`) and redrive them. Orders "
            f"{', '.join(seed.INTAKE_OUTAGE_ORDERS)} were placed during an intake outage: "
            "replay orders-archive up to now to start their sagas (Recovery → Event archives; "
            "the form's default window ends 10 minutes ago, as AWS's archiving lags: set "
            "To to now).",
            self.fresh_note,
            *(
                ["", "Integrations (admin: Integrations page):", *self.ticketing.banner()]
                if self.ticketing is not None
                else []
            ),
            f"Logs: {logs}/{{emulator,celery,web,ticketing}}.log",
            "Press Ctrl-C to stop everything.",
            "",
        ]
        self.stdout.write("\n".join(lines))

    def _supervise(self) -> None:
        while not self._sleep(1.0):
            for child in self.children:
                code = child.exited()
                if code is not None:
                    raise CommandError(
                        f"{child.name} exited with code {code}; stopping the demo. "
                        f"Last lines of {child.log_path}:\n{child.tail()}"
                    )
            if self.emulator is not None and not self.emulator.running():
                raise CommandError(
                    "the AWS emulator stopped unexpectedly; see var/log/emulator.log"
                )


# What a management command run beside the demo needs to reach its emulator and database.
_COMMAND_ENV_KEYS = (
    "OPSCONSOLE_AWS_ENDPOINT_URL",
    "OPSCONSOLE_LOCAL_KEYS",
    "OPSCONSOLE_VAR_DIR",
    "OPSCONSOLE_REGISTRY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
)


def _write_command_env(var: Path, env: dict[str, str]) -> None:
    """var/demo.env: `set -a; . var/demo.env; set +a` lets `manage.py sync_sagas` and the
    other commands talk to this demo's emulator instead of looking for AWS credentials."""
    lines = [
        "# Written by `manage.py demo` for commands run beside it (see README, Operating it):",
        "#   set -a; . var/demo.env; set +a; python manage.py sync_sagas",
    ]
    lines += [f"{k}={env[k]}" for k in _COMMAND_ENV_KEYS if env.get(k)]
    (var / "demo.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
