"""Webhook delivery: p95 <= 2 s from the event's commit to a healthy receiver, and 0 lost /
0 duplicated across a worker killed and restarted during a burst of 1,000 events.

A real Celery worker (prefork, 2 processes, the embedded filesystem broker, SQLite in a
scratch var dir) delivers to the demo's local webhook receiver (real HTTP, signature
verified, each webhook id counted once). This process emits the events, each in its own
transaction, as an action would, and plays beat: it runs the outbox sweep every 5 s.

1. Latency: events one at a time (every 50 ms); commit time vs. arrival at the receiver.
2. Restart: 1,000 events as fast as they commit; the worker is SIGKILLed once about 200
   have arrived and started again 2 s later; then count distinct webhook ids at the
   receiver (lost = events without one) and repeated ones (duplicates).

    .venv/bin/python bench/webhooks_delivery.py [--latency 200] [--burst 1000] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

VAR = tempfile.mkdtemp(prefix="opsconsole-bench-webhooks-")
# The production settings (a real worker, not eager tasks), in a scratch var dir.
os.environ["DJANGO_SETTINGS_MODULE"] = "opsconsole.settings"
os.environ["OPSCONSOLE_VAR_DIR"] = VAR
os.environ["OPSCONSOLE_LOCAL_KEYS"] = "1"
os.environ["OPSCONSOLE_INTEGRATIONS_ALLOW"] = "127.0.0.1"
os.environ["OPSCONSOLE_INTEGRATIONS_TIMEOUT"] = "5"
os.environ["OPSCONSOLE_LOG_LEVEL"] = "WARNING"

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT  # noqa: E402  (sets Django up)
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

TARGET_P95 = 2.0
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Webhooks"
SWEEP_SECONDS = 5.0


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ}
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own argv
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "opsconsole",
                "worker",
                "-l",
                "WARNING",
                "--concurrency",
                "2",
                "-Q",
                "celery",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(worker: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


class Beat(threading.Thread):
    """The outbox sweep every SWEEP_SECONDS, as Celery beat runs it in production."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.swept = 0

    def run(self) -> None:
        from django.db import connection

        from opsconsole.integrations import tasks

        while not self.stopping.wait(SWEEP_SECONDS):
            self.swept += tasks.sweep.run()
        connection.close()


def emit(n_commit: dict[str, float]) -> None:
    from opsconsole import events

    with transaction.atomic():
        event = events.emit(
            "approval.requested", target=events.Target(type="approval", id="1", label="bench")
        )
    n_commit[event.id] = time.time()


def wait_for(receiver: object, count: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if receiver.receiver.snapshot()["unique"] >= count:  # type: ignore[attr-defined]
            return True
        time.sleep(0.1)
    return False


def run(latency_n: int, burst: int) -> dict[str, object]:
    from opsconsole.audit.log import Actor
    from opsconsole.emulator import webhook_receiver
    from opsconsole.integrations import actions
    from opsconsole.integrations.models import Delivery, DeliveryStatus

    call_command("migrate", verbosity=0)
    receiver = webhook_receiver.start()
    created = actions.create_endpoint(
        Actor("user", "bench@example.com", role="admin"),
        url=f"{receiver.url}/hooks/bench",
        event_types=["approval.requested"],
    )
    receiver.receiver.set_secret("/hooks/bench", created.secret)
    log = Path(VAR) / "worker.log"
    worker = start_worker(log)
    beat = Beat()
    beat.start()
    try:
        # Warm up: the worker is up once a first delivery arrives.
        warm: dict[str, float] = {}
        emit(warm)
        if not wait_for(receiver, 1, 60):
            raise SystemExit(f"the worker delivered nothing in 60 s; see {log}")

        # 1. latency, one event at a time
        committed: dict[str, float] = {}
        for _ in range(latency_n):
            emit(committed)
            time.sleep(0.05)
        wait_for(receiver, 1 + latency_n, 120)
        arrived = {
            r["event_id"]: r["received_at"]
            for r in receiver.receiver.snapshot()["receipts"]
            if r["event_id"] in committed and r["verified"]
        }
        delays = sorted(arrived[e] - committed[e] for e in committed if e in arrived)
        p95 = delays[max(0, int(len(delays) * 0.95) - 1)] if delays else float("inf")

        # 2. a burst with a worker killed and restarted in the middle
        before = receiver.receiver.snapshot()["unique"]
        burst_ids: dict[str, float] = {}
        emitter = threading.Thread(target=lambda: [emit(burst_ids) for _ in range(burst)])
        started = time.monotonic()
        emitter.start()
        wait_for(receiver, before + min(200, burst // 5), 120)
        kill(worker)
        killed_at = receiver.receiver.snapshot()["unique"] - before
        time.sleep(2)
        worker = start_worker(log)
        emitter.join()
        complete = wait_for(receiver, before + burst, 300)
        took = time.monotonic() - started
        # Rows a killed worker held are sent again once their lease expires: wait for the
        # outbox to be empty, so every copy that will ever arrive is counted.
        settle = time.monotonic() + 120
        while (
            Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).exists()
            and time.monotonic() < settle
        ):
            time.sleep(0.5)
        time.sleep(1)
        snap = receiver.receiver.snapshot()
        got = [r for r in snap["receipts"] if r["event_id"] in burst_ids and r["status"] < 300]
        distinct = {r["webhook_id"] for r in got if not r["duplicate"]}
        events_seen = {r["event_id"] for r in got if not r["duplicate"]}
        # A true duplicate is one event under two webhook ids (a receiver cannot tell);
        # the same id again is a redelivery the receiver recognises and drops.
        duplicates = len(distinct) - len(events_seen)
        redelivered = sum(1 for r in got if r["duplicate"])
        not_delivered = Delivery.objects.exclude(status=DeliveryStatus.DELIVERED).count()
        return {
            "latency_n": len(delays),
            "p50": statistics.median(delays) if delays else float("inf"),
            "p95": p95,
            "max": delays[-1] if delays else float("inf"),
            "burst": burst,
            "killed_after": killed_at,
            "distinct": len(distinct),
            "lost": burst - len(events_seen),
            "duplicates": duplicates,
            "redelivered": redelivered,
            "complete": complete,
            "burst_seconds": took,
            "rows_not_delivered": not_delivered,
            "unverified": sum(1 for r in got if not r["verified"]),
        }
    finally:
        beat.stopping.set()
        kill(worker)
        receiver.stop()


def ok(result: dict[str, object]) -> bool:
    return (
        float(result["p95"]) <= TARGET_P95  # type: ignore[arg-type]
        and result["lost"] == 0
        and result["duplicates"] == 0
    )


def write(result: dict[str, object]) -> None:
    p95_ok = float(result["p95"]) <= TARGET_P95  # type: ignore[arg-type]
    section = "\n".join(
        [
            SECTION,
            "",
            "Webhook delivery (`bench/webhooks_delivery.py`): a real Celery worker (prefork, 2",
            "processes, embedded filesystem broker, SQLite) delivering to the demo's local",
            "webhook receiver over HTTP (signatures verified, webhook ids counted), "
            f"{time.strftime('%Y-%m-%d')}, this 2-core machine shared with other work.",
            "",
            "| measure | value | target |",
            "|---|---|---|",
            f"| events, one at a time every 50 ms | {result['latency_n']} | |",
            f"| p50 commit to receiver | {float(result['p50']) * 1000:.0f} ms | |",  # type: ignore[arg-type]
            f"| p95 commit to receiver | {float(result['p95']) * 1000:.0f} ms | <= 2000 ms "
            f"({'met' if p95_ok else 'MISSED'}) |",
            f"| max | {float(result['max']) * 1000:.0f} ms | |",  # type: ignore[arg-type]
            f"| burst, worker SIGKILLed after {result['killed_after']} arrived, restarted 2 s "
            f"later | {result['burst']} events | |",
            f"| distinct webhook ids received | {result['distinct']} | {result['burst']} |",
            f"| lost (events without a delivery) | {result['lost']} | 0 |",
            f"| duplicated (one event under two webhook ids) | {result['duplicates']} | 0 |",
            f"| copies sent again with the same webhook id (the kill fell between the "
            f"receiver's 200 and our commit), dropped by the receiver | "
            f"{result['redelivered']} | |",
            f"| burst, first commit to last arrival | {float(result['burst_seconds']):.0f} s | |",  # type: ignore[arg-type]
            f"| outbox rows not delivered at the end | {result['rows_not_delivered']} | 0 |",
            "",
            "A killed worker's unacknowledged tasks are recovered by the outbox sweep (every",
            "15 s in production, 5 s here): rows still pending 20 s after they were due, or",
            "`sending` past their lease (2 x timeout + 10 s), are queued again; a claim (a",
            "conditional UPDATE) keeps two workers from sending one row at once.",
            "",
        ]
    )
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if SECTION in text:
        start = text.index(SECTION)
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + section + (text[end + 1 :] if end != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=200)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--no-write", action="store_true", help="don't update RESULTS.md")
    args = parser.parse_args()
    result = run(args.latency, args.burst)
    print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in result.items()})
    if not args.no_write:
        write(result)
    return 0 if ok(result) else 1


if __name__ == "__main__":
    sys.exit(main())
