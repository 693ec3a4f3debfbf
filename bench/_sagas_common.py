"""Shared set-up of the sagas benchmarks (not a benchmark itself: bench/run.py skips `_*`)."""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT  # noqa: E402  (sets Django up)
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Sagas"


def prepare_database() -> str:
    """Migrate the benchmark's database (a fresh SQLite file unless DATABASE_URL says
    otherwise) and return its vendor."""
    call_command("migrate", verbosity=0)
    setup_test_environment()
    return connection.vendor


def viewer() -> Any:
    from django.contrib.auth import get_user_model

    from tests.conftest import make_user, signed_in_client

    existing = get_user_model().objects.filter(username="bench-viewer").first()
    user = existing or make_user("viewer", username="bench-viewer", email="viewer@bench.local")
    return signed_in_client(user)


def median_ms(fn: Callable[[], Any], runs: int = 30, warmup: int = 3) -> tuple[float, Any]:
    result = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def search_median_ms(client: Any, sample: list[tuple[str, str, str, int]]) -> float:
    """Median of the header search for each sampled saga, alternating business key and
    correlation id; each must redirect to that saga's case page (one hit)."""
    times = []
    for i, (key, corr, kind, pk) in enumerate(sample):
        q = key if i % 2 else corr
        expected = f"/sagas/{kind}/{pk}/"

        def find(q: str = q, expected: str = expected) -> Any:
            response = client.get("/sagas/search/", {"q": q})
            assert response.status_code == 302 and response["Location"] == expected, q
            return response

        ms, _ = median_ms(find, runs=5, warmup=1)
        times.append(ms)
    return statistics.median(times)


def query_count(fn: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


STEPS = {
    "orders": [
        "ValidateOrder",
        "FraudCheck",
        "ReserveInventory",
        "AwaitApproval",
        "ChargePayment",
        "BookShipment",
        "MarkConfirmed",
    ],
    "closures": [
        "ValidateClosure",
        "AwaitClosureApproval",
        "AnonymizeUserData",
        "HandleBilling",
        "MarkDeleted",
    ],
}
STATUS_MIX = [
    ("succeeded", 70),
    ("compensated", 10),
    ("needs_review", 3),
    ("failed", 4),
    ("waiting", 6),
    ("running", 5),
    ("timed_out", 1),
    ("aborted", 1),
]


def synthetic_sagas(n: int, *, start: int = 1_000_000, seed: int = 7) -> int:
    """Bulk-insert `n` realistic read-model rows (80% orders, 20% closures, 30 days), and
    count them into the status tabs' summary as the sync's rebuild does."""
    from sagas.models import Saga, rebuild_counts

    batch: list[Saga] = []
    for row in synthetic_rows(n, start=start, seed=seed):
        batch.append(row)
        if len(batch) >= 5000:
            Saga.objects.bulk_create(batch)
            batch = []
    if batch:
        Saga.objects.bulk_create(batch)
    rebuild_counts()
    return n


def synthetic_rows(n: int, *, start: int = 1_000_000, seed: int = 7) -> Iterator[Any]:
    """`n` unsaved read-model rows (80% orders, 20% closures, started over 30 days)."""
    from sagas.models import Saga

    rnd = random.Random(seed)
    now = timezone.now()
    statuses = [s for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    for i in range(n):
        kind = "orders" if rnd.random() < 0.8 else "closures"
        key = str(start + i)
        status = rnd.choices(statuses, weights)[0]
        started = now - timedelta(seconds=rnd.randint(1, 30 * 86400))
        active = status in ("waiting", "running")
        step = rnd.choice(STEPS[kind]) if status not in ("succeeded",) else ""
        if status == "waiting":
            step = "AwaitApproval" if kind == "orders" else "AwaitClosureApproval"
        entered = started + timedelta(seconds=rnd.randint(0, 60)) if active else None
        sm = "OrderFulfillment" if kind == "orders" else "AccountClosure"
        name = f"{kind[:-1]}-{key}-{int(started.timestamp())}"
        yield (
            Saga(
                kind=kind,
                execution_arn=f"arn:aws:states:eu-west-1:123456789012:execution:{sm}:{name}",
                execution_name=name,
                state_machine_arn=f"arn:aws:states:eu-west-1:123456789012:stateMachine:{sm}",
                business_key=key,
                correlation_id=f"{rnd.getrandbits(64):016x}-{i:08d}",
                ticket=f"INC{2_000_000 + i}" if i % 9 == 0 else "",
                status=status,
                sfn_status="RUNNING" if active else "SUCCEEDED",
                current_step=step,
                step_entered_at=entered,
                step_deadline=(entered + timedelta(seconds=86400 if status == "waiting" else 120))
                if entered
                else None,
                started_at=started,
                stopped_at=None if active else started + timedelta(seconds=rnd.randint(2, 600)),
                business_status={
                    "succeeded": "CONFIRMED",
                    "compensated": "CANCELLED_COMPENSATED",
                    "needs_review": "NEEDS_REVIEW",
                }.get(status, "PENDING"),
            )
        )


@contextlib.contextmanager
def emulator() -> Iterator[str]:
    """The emulator (moto in server mode on an ephemeral loopback port) for the block."""
    from opsconsole.aws import clients
    from opsconsole.emulator import server

    with server.running(0) as running, clients.endpoint_override(running.url):
        yield "moto in server mode on the loopback"


def write_block(title: str, lines: list[str]) -> None:
    """Replace (or add) the `### title` block inside the `## Sagas` section of RESULTS.md."""
    block = "\n".join([f"### {title}", "", *lines, ""]) + "\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\n"
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    end = len(text) if end == -1 else end + 1
    section = text[start:end]
    header = f"### {title}"
    if header in section:
        b_start = section.index(header)
        b_end = section.find("\n### ", b_start + len(header))
        b_end = len(section) if b_end == -1 else b_end + 1
        section = section[:b_start] + block + section[b_end:]
    else:
        section = section.rstrip("\n") + "\n\n" + block
    text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + text[end:] if text[end:] else "")
    RESULTS.write_text(text)


def stamp() -> str:
    return f"{time.strftime('%Y-%m-%d')}, this 2-core machine"
