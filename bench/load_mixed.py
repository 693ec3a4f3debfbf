"""Mixed load on gunicorn + PostgreSQL: >= 200 requests/s, p99 <= 250 ms, 0 errors.

DESIGN.md, "Numbers we hold ourselves to". A throwaway PostgreSQL cluster (or DATABASE_URL,
a database this benchmark may empty and fill) is filled with 100,000 sagas, approval
requests, decisions and audit records; gunicorn serves the console with the production
settings (`opsconsole.wsgi`, 4 sync workers); a pool of threads in this process, each a
signed-in person or the API token, asks for list pages with filters, htmx row polls,
search redirects, case pages (history cached, as for any terminal saga viewed before), the
approvals inbox and a case page's approvals panel, the home page, the REST API and
/healthz, as fast as the server answers, for a bounded time.

AWS is never called: the console's endpoint points at a loopback port that only counts
connections (the count must stay 0), and the case pages and API details hit are of terminal
sagas whose history is cached and whose business items were read less than 30 s ago (a
thread keeps them so, as the views' own reads would). The approval request page, which
always reads the execution live, is left out.

    .venv/bin/python bench/load_mixed.py [--seconds 60] [--concurrency 8] [--workers 4]
        [--sagas 100000] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Mixed load"
HISTORIES = ROOT / "tests" / "sagas" / "histories"

TARGET_RPS = 200.0
TARGET_P99_MS = 250.0

CASE_SAGAS = 300  # terminal sagas whose case page and API detail are in the mix
PENDING_APPROVALS = 400
DECIDED_APPROVALS = 3000
AUDIT_EVENTS = 50_000
MAX_REQUESTS = 100_000  # a bound on top of the time bound
ITEMS_REFRESH_SECONDS = 10.0

TERMINAL_HISTORIES = {
    "orders": [
        "order_succeeded",
        "order_declined",
        "order_needs_review",
        "order_rejected",
        "order_stock_short",
        "order_timed_out",
    ],
    "closures": [
        "closure_done",
        "closure_failed_billing",
        "closure_failed_legal_hold",
        "closure_rejected",
    ],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL ------------------------------------------------------------------------


def _pg_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise SystemExit("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb)")
    return found[-1].parent


@dataclass(frozen=True)
class Database:
    url: str
    label: str
    data_dir: Path | None = None  # our own cluster's, to read its server's CPU time

    def server_pids(self) -> list[int]:
        """The postmaster and its backends (own cluster only)."""
        if self.data_dir is None:
            return []
        with contextlib.suppress(OSError, ValueError, IndexError):
            master = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            return [master, *children(master)]
        return []


@contextlib.contextmanager
def postgres_cluster() -> Iterator[Database]:
    """A throwaway cluster on a free loopback port, run by the postgres user as .ci/run
    does; stopped and removed on exit."""
    if os.geteuid() != 0:
        raise SystemExit(
            "starting a throwaway PostgreSQL needs root (runuser -u postgres); "
            "or set DATABASE_URL to a PostgreSQL database this benchmark may empty and fill"
        )
    pg = _pg_bin()
    work = Path(tempfile.mkdtemp(prefix="opsconsole-bench-pg-"))
    data = work / "pgdata"
    port = free_port()
    options = f"-p {port} -k {work} -c listen_addresses=127.0.0.1 -c max_connections=100"
    started = False
    try:
        shutil.chown(work, user="postgres")
        _run(_as_postgres(pg / "initdb", "-D", data, "-A", "trust", "-U", "postgres"))
        _run(
            _as_postgres(
                pg / "pg_ctl", "-D", data, "-l", work / "pg.log", "-w", "-o", options, "start"
            )
        )
        started = True
        psql = [str(pg / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-qc"]
        _run([*psql, "CREATE ROLE opsconsole LOGIN SUPERUSER"])
        _run([*psql, "CREATE DATABASE opsconsole OWNER opsconsole"])
        version = subprocess.run(
            [str(pg / "postgres"), "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        yield Database(
            f"postgres://opsconsole@127.0.0.1:{port}/opsconsole",
            f"{version or 'PostgreSQL'}, a throwaway cluster on the loopback (default settings)",
            data,
        )
    finally:
        if started:
            subprocess.run(
                _as_postgres(pg / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"),
                capture_output=True,
                check=False,
                timeout=60,
            )
        shutil.rmtree(work, ignore_errors=True)


def _as_postgres(*cmd: object) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *(str(c) for c in cmd)]


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])}... failed:\n{done.stdout}{done.stderr}")


# --- a stand-in for AWS that only counts ------------------------------------------------


class AwsTripwire:
    """A loopback port the console's AWS endpoint points at: it counts every connection and
    closes it at once (a page that needed AWS would show up here, and as an error)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


# --- the data --------------------------------------------------------------------------


def fill(n_sagas: int) -> dict[str, Any]:
    """The read model at a realistic volume; returns what the load needs to address."""
    from _sagas_common import synthetic_sagas
    from django.db import connection
    from django.utils import timezone

    from approvals.crypto import encrypt_token, token_dedup_key
    from approvals.models import ApprovalDecision, ApprovalRequest
    from opsconsole.audit.models import AuditEvent
    from sagas.models import Saga, SagaDetail, SagaStatus, SyncState

    timings: dict[str, float] = {}
    t = time.monotonic()
    ApprovalRequest.objects.all().delete()
    Saga.objects.all().delete()
    synthetic_sagas(n_sagas)
    now = timezone.now()
    for kind in ("orders", "closures"):
        SyncState.objects.update_or_create(
            kind=kind, defaults={"last_success_at": now, "last_attempt_at": now}
        )
    timings["sagas"] = time.monotonic() - t

    t = time.monotonic()
    rnd = random.Random(11)
    histories = {
        name: json.loads((HISTORIES / f"{name}.json").read_text())["events"]
        for names in TERMINAL_HISTORIES.values()
        for name in names
    }
    terminal = list(
        Saga.objects.filter(status__in=[SagaStatus.SUCCEEDED, SagaStatus.COMPENSATED])
        .order_by("?")
        .values_list("pk", "kind", "business_key", "correlation_id")[:CASE_SAGAS]
    )
    details = []
    for pk, kind, key, _corr in terminal:
        events = histories[rnd.choice(TERMINAL_HISTORIES[kind])]
        prefix = "ORDER" if kind == "orders" else "ACCOUNT"
        details.append(
            SagaDetail(
                saga_id=pk,
                history=events,
                history_event_count=len(events),
                history_complete=True,
                history_fetched_at=now,
                items=[
                    {
                        "pk": f"{prefix}#{key}",
                        "sk": "META",
                        "status": "CONFIRMED",
                        "customerEmail": f"customer{key}@example.net",
                    },
                    {"pk": f"{prefix}#{key}", "sk": "PAYMENT", "status": "CAPTURED"},
                ],
                items_fetched_at=now,
            )
        )
    SagaDetail.objects.bulk_create(details, batch_size=100)

    waiting = list(
        Saga.objects.filter(status=SagaStatus.WAITING)
        .order_by("?")
        .values_list("pk", "kind", "business_key", "execution_arn", "correlation_id")[
            :PENDING_APPROVALS
        ]
    )
    decided_sagas = list(
        Saga.objects.filter(status__in=[SagaStatus.SUCCEEDED, SagaStatus.COMPENSATED])
        .order_by("?")
        .values_list("pk", "kind", "business_key", "execution_arn", "correlation_id")[
            :DECIDED_APPROVALS
        ]
    )
    # Half the case sagas had an approval too, so their approvals panel shows something.
    case_set = {pk for pk, *_ in terminal}
    with_panel = list(
        Saga.objects.filter(pk__in=[pk for pk, *_ in terminal[: CASE_SAGAS // 2]]).values_list(
            "pk", "kind", "business_key", "execution_arn", "correlation_id"
        )
    )
    others = [s for s in decided_sagas if s[0] not in case_set]
    decided_sagas = with_panel + others[: DECIDED_APPROVALS - len(with_panel)]
    requests = []
    approvers = [f"approver{i}@bench.local" for i in range(6)]
    for i, (pk, kind, key, arn, corr) in enumerate(waiting + decided_sagas):
        pending = i < len(waiting)
        token = f"bench-token-{i}-{secrets.token_hex(8)}"
        amount = rnd.randint(1001, 25000) if kind == "orders" else None
        requested = now - timedelta(minutes=rnd.randint(1, 60 * 24 * 20))
        decision = "approve" if rnd.random() < 0.85 else "reject"
        requests.append(
            ApprovalRequest(
                saga_id=pk,
                execution_arn=arn,
                kind=kind,
                queue_name="order-approvals" if kind == "orders" else "closure-approvals",
                business_key=key,
                summary=(
                    f"order {key}, {amount} EUR, above the 1,000 threshold"
                    if kind == "orders"
                    else f"close account {key}"
                ),
                amount=amount,
                currency="EUR" if kind == "orders" else "",
                threshold=1000 if kind == "orders" else None,
                correlation_id=corr,
                requested_by_type="service",
                requested_by="storefront",
                requested_at=requested,
                deadline=(now + timedelta(minutes=rnd.randint(-30, 60 * 24)))
                if pending
                else requested + timedelta(days=1),
                status="pending"
                if pending
                else ("approved" if decision == "approve" else "rejected"),
                decision="" if pending else decision,
                decided_by="" if pending else rnd.choice(approvers),
                decided_at=None if pending else requested + timedelta(minutes=rnd.randint(1, 600)),
                reason="" if pending or decision == "approve" else "amount not justified",
                sent_at=None if pending else requested + timedelta(minutes=601),
                token_encrypted=encrypt_token(token),
                dedup_key=token_dedup_key(token),
            )
        )
    ApprovalRequest.objects.bulk_create(requests, batch_size=500)
    decided = list(
        ApprovalRequest.objects.exclude(status="pending").values_list(
            "pk", "decided_by", "decision", "decided_at", "reason"
        )
    )
    ApprovalDecision.objects.bulk_create(
        [
            ApprovalDecision(request_id=pk, decided_by=by, decision=d, reason=reason, at=at or now)
            for pk, by, d, at, reason in decided
        ],
        batch_size=1000,
    )
    timings["approvals"] = time.monotonic() - t

    t = time.monotonic()
    existing = AuditEvent.objects.count()
    events = []
    sample = list(
        Saga.objects.order_by("?").values_list("pk", "correlation_id")[: AUDIT_EVENTS // 4]
    ) + [(pk, corr) for pk, _k, _b, corr in terminal]
    actions = [
        ("saga.refresh", "saga"),
        ("saga.redrive", "saga"),
        ("approval.decide", "approval"),
        ("approval.claim", "approval"),
        ("dlq.redrive", "queue"),
        ("auth.sign_in", ""),
    ]
    for i in range(max(0, AUDIT_EVENTS - existing)):
        pk, corr = sample[i % len(sample)]
        action, target_type = rnd.choice(actions)
        events.append(
            AuditEvent(
                actor_type="user",
                actor=rnd.choice(approvers),
                actor_role="approver",
                action=action,
                target_type=target_type,
                target_id=str(pk) if target_type else "",
                correlation_id=corr if target_type in ("saga", "approval") else "",
                result=rnd.choice(["started", "succeeded", "succeeded", "refused"]),
                details={"bench": True},
            )
        )
    AuditEvent.objects.bulk_create(events, batch_size=2000)
    timings["audit"] = time.monotonic() - t

    t = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    timings["vacuum"] = time.monotonic() - t

    search_sample = list(
        Saga.objects.order_by("?").values_list("business_key", "correlation_id")[:500]
    )
    return {
        "case": [(pk, kind) for pk, kind, _b, _c in terminal],
        "search": search_sample,
        "approvals": list(ApprovalRequest.objects.values_list("pk", flat=True)),
        "counts": {
            "sagas": Saga.objects.count(),
            "case": len(details),
            "approvals": len(requests),
            "pending": len(waiting),
            "decisions": len(decided),
            "audit": AuditEvent.objects.count(),
        },
        "timings": timings,
    }


def people() -> tuple[list[tuple[str, str]], str]:
    """Two signed-in sessions per role (cookie values) and a viewer API token."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from opsconsole.identity.models import ApiToken
    from tests.conftest import ROLES, make_user, signed_in_client

    User = get_user_model()  # noqa: N806
    sessions = []
    for role in ROLES:
        for i in range(2):
            name = f"bench-{role}-{i}"
            user = User.objects.filter(username=name).first() or make_user(
                role, username=name, email=f"{role}{i}@bench.local"
            )
            client = signed_in_client(user)
            sessions.append((role, client.cookies[settings.SESSION_COOKIE_NAME].value))
    ApiToken.objects.filter(name="bench-load").delete()
    _, raw = ApiToken.issue("bench-load", "viewer", created_by="bench")
    return sessions, raw


# --- the mix ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    label: str
    path: str
    api: bool = False
    htmx_target: str = ""
    expect: int = 200


LIST_FILTERS = [
    "/sagas/orders/?status=running",
    "/sagas/orders/?status=waiting",
    "/sagas/orders/?status=failed",
    "/sagas/orders/?status=compensated",
    "/sagas/orders/?status=needs_review",
    "/sagas/closures/?status=failed",
    "/sagas/orders/?status=waiting&range=7d",
    "/sagas/orders/?step=ChargePayment&order=oldest",
    "/sagas/orders/?stuck=1",
    "/sagas/closures/?status=succeeded&range=30d",
    "/sagas/orders/",
]


class Mix:
    """Weighted request templates; each draw picks concrete ids from the filled data."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.case = data["case"]
        self.search = data["search"]
        self.approvals = data["approvals"]
        self.weights: list[tuple[str, int]] = [
            ("list page, filtered", 18),
            ("list rows poll (htmx)", 10),
            ("search -> case page redirect", 8),
            ("case page (history cached)", 10),
            ("case approvals panel (htmx)", 5),
            ("approvals inbox", 8),
            ("home", 4),
            ("API sagas list", 8),
            ("API saga detail", 6),
            ("API saga timeline", 3),
            ("API approvals list", 5),
            ("API approval detail", 4),
            ("healthz", 5),
        ]

    def draw(self, rnd: random.Random) -> Call:
        labels = [w[0] for w in self.weights]
        label = rnd.choices(labels, [w[1] for w in self.weights])[0]
        return self.call(label, rnd)

    def call(self, label: str, rnd: random.Random) -> Call:
        pk, kind = rnd.choice(self.case)
        if label == "list page, filtered":
            return Call(label, rnd.choice(LIST_FILTERS))
        if label == "list rows poll (htmx)":
            path = rnd.choice(LIST_FILTERS[:2] + ["/sagas/orders/", "/sagas/closures/"])
            return Call(label, path, htmx_target="saga-rows")
        if label == "search -> case page redirect":
            key, corr = rnd.choice(self.search)
            return Call(
                label, f"/sagas/search/?q={key if rnd.random() < 0.5 else corr}", expect=302
            )
        if label == "case page (history cached)":
            return Call(label, f"/sagas/{kind}/{pk}/")
        if label == "case approvals panel (htmx)":
            return Call(label, f"/approvals/saga/{pk}/panel/", htmx_target="approvals-panel")
        if label == "approvals inbox":
            return Call(
                label, rnd.choice(["/approvals/", "/approvals/", "/approvals/?tab=history"])
            )
        if label == "home":
            return Call(label, "/")
        if label == "API sagas list":
            path = rnd.choice(
                [
                    "/api/v1/sagas/?kind=orders&status=failed",
                    "/api/v1/sagas/?kind=orders&status=waiting",
                    "/api/v1/sagas/?kind=closures",
                    "/api/v1/sagas/?stuck=true",
                ]
            )
            return Call(label, path, api=True)
        if label == "API saga detail":
            return Call(label, f"/api/v1/sagas/{pk}/", api=True)
        if label == "API saga timeline":
            return Call(label, f"/api/v1/sagas/{pk}/timeline/", api=True)
        if label == "API approvals list":
            path = rnd.choice(["/api/v1/approvals/?status=waiting", "/api/v1/approvals/"])
            return Call(label, path, api=True)
        if label == "API approval detail":
            return Call(label, f"/api/v1/approvals/{rnd.choice(self.approvals)}/", api=True)
        return Call("healthz", "/healthz")


def headers_for(call: Call, cookie: str, token: str, host: str) -> dict[str, str]:
    headers = {"Host": host, "User-Agent": "opsconsole-bench"}
    if call.api:
        headers["Authorization"] = f"Bearer {token}"
        headers["Accept"] = "application/json"
    elif call.path != "/healthz":
        headers["Cookie"] = f"sessionid={cookie}"
    if call.htmx_target:
        headers["HX-Request"] = "true"
        headers["HX-Target"] = call.htmx_target
        headers["HX-Current-URL"] = f"http://{host}{call.path}"
    return headers


def query_counts(mix: Mix, token: str) -> dict[str, int]:
    """Queries per request of one sample of each endpoint (Django test client, this
    process, same database; the second of two identical requests)."""
    from _sagas_common import viewer
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    browser = viewer()
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    rnd = random.Random(5)
    counts = {}
    for label, _ in mix.weights:
        call = mix.call(label, rnd)
        client = api if call.api else browser if call.path != "/healthz" else Client()
        htmx = {"HX-Request": "true", "HX-Target": call.htmx_target} if call.htmx_target else {}
        client.get(call.path, headers=htmx)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(call.path, headers=htmx)
        if response.status_code != call.expect:
            raise SystemExit(f"{call.path}: {response.status_code} before the load even began")
        # What the load asks for must be served without AWS, from the cached history and
        # the recently read items (not a page that gave up on AWS and shows old data).
        if label == "case page (history cached)":
            body = response.content.decode()
            if "data-aws-banner" in body or response.context["timeline"].event_count < 10:
                raise SystemExit(f"{call.path} is not served from its cache")
        if label in ("API saga detail", "API saga timeline"):
            body = response.json()
            if body.get("stale") or (body.get("dynamodb") or {}).get("stale"):
                raise SystemExit(f"{call.path} is stale: {body.get('error')}")
        counts[label] = len(ctx.captured_queries)
    return counts


# --- gunicorn --------------------------------------------------------------------------


@contextlib.contextmanager
def gunicorn(env: dict[str, str], workers: int, log: Path) -> Iterator[tuple[int, int]]:
    """gunicorn serving opsconsole.wsgi on a free loopback port; yields (port, master pid)."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "opsconsole.wsgi",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--graceful-timeout",
                "5",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz", headers={"Host": f"127.0.0.1:{port}"})
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn never answered:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield port, proc.pid
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command may contain spaces and parentheses: the ppid follows the last ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cpu_seconds(root: int) -> float:
    """CPU time of a process tree: the root's own and its reaped children's, plus its live
    children's (a PostgreSQL backend that exits in between moves from one to the other)."""
    tick = os.sysconf("SC_CLK_TCK")

    def own(pid: int) -> float:
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return sum(int(f) for f in fields[11:15]) / tick  # utime stime cutime cstime

    return own(root) + sum(own(c) for c in children(root))


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy since boot (every process), /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:8]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """Where the machine's CPU went during the load, in cores (CPU seconds per second)."""

    gunicorn: int
    postmaster: int | None
    marks: dict[str, float] = field(default_factory=dict)
    started: float = 0.0

    def read(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "gunicorn": cpu_seconds(self.gunicorn),
            "postgres": cpu_seconds(self.postmaster) if self.postmaster else 0.0,
            "load generator": usage.ru_utime + usage.ru_stime,
            "machine busy": machine_busy(),
        }

    def start(self) -> None:
        self.marks = self.read()
        self.started = time.perf_counter()

    def stop(self) -> dict[str, float]:
        end = self.read()
        seconds = time.perf_counter() - self.started
        cores = {k: (end[k] - self.marks[k]) / seconds for k in end}
        ours = cores["gunicorn"] + cores["postgres"] + cores["load generator"]
        cores["other"] = max(0.0, cores["machine busy"] - ours)
        cores["cores"] = float(os.cpu_count() or 1)
        return cores


# --- the load --------------------------------------------------------------------------


@dataclass
class Sample:
    label: str
    status: int
    ms: float
    problem: str = ""


@dataclass
class Outcome:
    samples: list[Sample] = field(default_factory=list)
    seconds: float = 0.0


def drive(
    port: int,
    mix: Mix,
    sessions: list[tuple[str, str]],
    token: str,
    *,
    seconds: float,
    concurrency: int,
    max_requests: int,
    seed: int,
) -> Outcome:
    """`concurrency` closed-loop clients (each asks again as soon as it has an answer)."""
    host = f"127.0.0.1:{port}"
    stop = threading.Event()
    budget = threading.Semaphore(max_requests)
    per_thread: list[list[Sample]] = [[] for _ in range(concurrency)]

    def client(n: int) -> None:
        rnd = random.Random(seed * 1000 + n)
        _role, cookie = sessions[n % len(sessions)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        out = per_thread[n]
        while not stop.is_set() and budget.acquire(blocking=False):
            call = mix.draw(rnd)
            headers = headers_for(call, cookie, token, host)
            started = time.perf_counter()
            problem = ""
            try:
                conn.request("GET", call.path, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
                location = response.getheader("Location") or ""
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                status, location, problem = 0, "", f"{type(exc).__name__}: {exc}"
            ms = (time.perf_counter() - started) * 1000
            if problem:
                pass
            elif status != call.expect:
                problem = f"{status} {location}".strip()
            elif call.expect == 302 and not location.startswith("/sagas/"):
                problem = f"redirect to {location}"
            out.append(Sample(call.label, status, ms, problem))
        conn.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    deadline = started + seconds
    while time.perf_counter() < deadline and any(t.is_alive() for t in threads):
        time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join(timeout=35)
    elapsed = time.perf_counter() - started
    return Outcome([s for samples in per_thread for s in samples], elapsed)


@contextlib.contextmanager
def items_kept_fresh(pks: list[int]) -> Iterator[None]:
    """Re-stamp the case sagas' business items as just read, every few seconds: what the
    views' own DynamoDB reads would do (at most once per 30 s per terminal saga)."""
    from django.db import connection
    from django.utils import timezone

    from sagas.models import SagaDetail

    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(ITEMS_REFRESH_SECONDS):
                SagaDetail.objects.filter(saga_id__in=pks).update(items_fetched_at=timezone.now())
        finally:
            connection.close()

    SagaDetail.objects.filter(saga_id__in=pks).update(items_fetched_at=timezone.now())
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def pct(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of sorted values."""
    if not values:
        return float("nan")
    k = max(0, min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1))
    return values[k]


def summarize(outcome: Outcome) -> dict[str, Any]:
    all_ms = sorted(s.ms for s in outcome.samples)
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for s in outcome.samples:
        by_label[s.label].append(s)
    endpoints = {}
    for label, samples in by_label.items():
        ms = sorted(s.ms for s in samples)
        endpoints[label] = {
            "n": len(samples),
            "p50": statistics.median(ms),
            "p99": pct(ms, 99),
            "max": ms[-1],
            "errors": sum(1 for s in samples if s.problem),
        }
    problems = Counter(f"{s.label}: {s.problem}" for s in outcome.samples if s.problem)
    return {
        "n": len(all_ms),
        "seconds": outcome.seconds,
        "rps": len(all_ms) / outcome.seconds if outcome.seconds else 0.0,
        "p50": pct(all_ms, 50),
        "p95": pct(all_ms, 95),
        "p99": pct(all_ms, 99),
        "max": all_ms[-1] if all_ms else float("nan"),
        "errors": sum(problems.values()),
        "problems": problems,
        "endpoints": endpoints,
    }


# --- the report ------------------------------------------------------------------------


def write(result: dict[str, Any]) -> None:
    s = result["summary"]
    ok_rps = s["rps"] >= TARGET_RPS
    ok_p99 = s["p99"] <= TARGET_P99_MS
    ok_err = s["errors"] == 0
    c = result["counts"]
    cpu = result["cpu"]
    pg_cores = f"{cpu['postgres']:.2f}" if result["database_own"] else "not measured"
    weights = dict(result["weights"])
    total_w = sum(weights.values())
    rows = []
    for label, _w in result["weights"]:
        e = s["endpoints"].get(label)
        if e is None:
            continue
        rows.append(
            f"| {label} | {weights[label] / total_w:.0%} | {e['n']:,} | {e['p50']:.0f} ms | "
            f"{e['p99']:.0f} ms | {e['max']:.0f} ms | {e['errors']} | "
            f"{result['queries'].get(label, '')} |"
        )
    lines = [
        SECTION,
        "",
        "Mixed load on gunicorn + PostgreSQL (`bench/load_mixed.py`), "
        f"{time.strftime('%Y-%m-%d')}, this 2-core machine (the load generator runs on it too).",
        "",
        f"- Server: `gunicorn opsconsole.wsgi -w {result['workers']}` (sync workers, production "
        f"settings, {result['workers_seen']} workers up after the run), {result['database']}.",
        f"- Data: {c['sagas']:,} sagas, {c['approvals']:,} approval requests ({c['pending']} "
        f"waiting, {c['decisions']:,} decisions), {c['audit']:,} audit records; "
        f"{c['case']} terminal sagas with their history cached are the case pages asked for.",
        f"- Load: {result['concurrency']} closed-loop clients (Python threads, http.client; each a "
        f"signed-in person of one of the four roles, or the API token) for "
        f"{s['seconds']:.0f} s after a {result['warmup']:.0f} s warm-up; a new connection per "
        "request (gunicorn's sync workers close it).",
        f"- AWS: {result['aws_during']} connections to the console's AWS endpoint during the "
        f"load ({result['aws_total']} in the whole run; pages that need AWS live, the approval "
        "request page, are not in the mix).",
        f"- CPU during the load, in cores busy (of {cpu['cores']:.0f}): gunicorn "
        f"{cpu['gunicorn']:.2f}, PostgreSQL {pg_cores}, "
        f"the load generator {cpu['load generator']:.2f}, anything else on the machine "
        f"{cpu['other']:.2f}; machine {cpu['machine busy'] / cpu['cores']:.0%} busy.",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| requests | {s['n']:,} in {s['seconds']:.1f} s | |",
        f"| throughput | {s['rps']:.0f} requests/s | >= {TARGET_RPS:.0f} "
        f"({'met' if ok_rps else 'MISSED'}) |",
        f"| p50 / p95 | {s['p50']:.0f} ms / {s['p95']:.0f} ms | |",
        f"| p99 | {s['p99']:.0f} ms | <= {TARGET_P99_MS:.0f} ms "
        f"({'met' if ok_p99 else 'MISSED'}) |",
        f"| max | {s['max']:.0f} ms | |",
        f"| errors (non-2xx/3xx, or not the expected answer) | {s['errors']} | 0 "
        f"({'met' if ok_err else 'MISSED'}) |",
        "",
        "| endpoint | share | requests | p50 | p99 | max | errors | queries |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Latency is the client's, from sending the request to the last byte of the answer "
        "(connect included). Queries: one sample request of each, counted in-process with the "
        "Django test client on the same database.",
    ]
    if result.get("notes"):
        lines += ["", *result["notes"]]
    section = "\n".join(lines) + "\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if SECTION + "\n" in text:
        start = text.index(SECTION + "\n")
        end = text.find("\n## ", start + len(SECTION))
        rest = text[end + 1 :] if end != -1 else ""
        text = text[:start] + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


# --- main ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured load duration")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--sagas", type=int, default=100_000)
    parser.add_argument("--no-write", action="store_true", help="don't update RESULTS.md")
    args = parser.parse_args()
    if not 1 <= args.seconds <= 240 or not 1 <= args.concurrency <= 64:
        parser.error("--seconds must be 1..240 and --concurrency 1..64")

    run_started = time.monotonic()
    tripwire = AwsTripwire()
    scratch = Path(tempfile.mkdtemp(prefix="opsconsole-bench-load-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, scratch, ignore_errors=True)
        stack.callback(tripwire.close)
        # The console's var dir (broker folders, logs) is this run's scratch, removed at the end.
        os.environ.setdefault("OPSCONSOLE_VAR_DIR", str(scratch))
        given = os.environ.get("DATABASE_URL", "")
        if given:
            database = Database(given, "PostgreSQL from DATABASE_URL")
        else:
            database = stack.enter_context(postgres_cluster())
        url = database.url
        secret = secrets.token_urlsafe(50)
        # Read by the settings when _django sets Django up below (this process and gunicorn
        # must agree on the database, the signing key and the AWS endpoint).
        os.environ["DATABASE_URL"] = url
        os.environ["OPSCONSOLE_SECRET_KEY"] = secret
        os.environ["OPSCONSOLE_AWS_ENDPOINT_URL"] = tripwire.url
        os.environ.setdefault("OPSCONSOLE_LOG_LEVEL", "WARNING")

        sys.path.insert(0, str(HERE))
        from _sagas_common import prepare_database  # sets Django up
        from django.db import connection

        stack.callback(connection.close)  # before the cluster stops
        vendor = prepare_database()
        if vendor != "postgresql":
            raise SystemExit(f"this benchmark needs PostgreSQL, DATABASE_URL is {vendor}")
        from opsconsole.settings import child_env

        t = time.monotonic()
        data = fill(args.sagas)
        print(
            f"filled in {time.monotonic() - t:.0f} s: "
            + ", ".join(f"{k} {v:,}" for k, v in data["counts"].items())
            + " ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in data["timings"].items())
            + ")",
            flush=True,
        )
        sessions, token = people()
        mix = Mix(data)
        queries = query_counts(mix, token)
        print("queries per request: " + ", ".join(f"{k} {v}" for k, v in queries.items()))
        connection.close()

        env = child_env(
            DJANGO_SETTINGS_MODULE="opsconsole.settings",
            DATABASE_URL=url,
            OPSCONSOLE_SECRET_KEY=secret,
            OPSCONSOLE_FIELD_ENCRYPTION_KEYS=secret,
            OPSCONSOLE_SECURE="0",
            OPSCONSOLE_DEBUG="0",
            OPSCONSOLE_ALLOWED_HOSTS="127.0.0.1",
            CELERY_BROKER_URL="memory://",
            OPSCONSOLE_API_RATE="1000000/minute",
            OPSCONSOLE_AWS_ENDPOINT_URL=tripwire.url,
            OPSCONSOLE_LOG_LEVEL="WARNING",
        )
        port, master = stack.enter_context(gunicorn(env, args.workers, scratch / "gunicorn.log"))
        print(f"gunicorn on 127.0.0.1:{port}, {len(children(master))} workers", flush=True)

        case_pks = [pk for pk, _ in data["case"]]
        stack.enter_context(items_kept_fresh(case_pks))
        common = {"concurrency": args.concurrency, "max_requests": MAX_REQUESTS}
        warm = drive(port, mix, sessions, token, seconds=args.warmup, seed=1, **common)
        aws_before = tripwire.connections
        postmaster = database.server_pids()[:1]
        meter = CpuMeter(master, postmaster[0] if postmaster else None)
        meter.start()
        outcome = drive(port, mix, sessions, token, seconds=args.seconds, seed=2, **common)
        cpu = meter.stop()
        aws_during = tripwire.connections - aws_before
        workers_seen = len(children(master))
        summary = summarize(outcome)

        print(
            f"mixed load: {summary['n']:,} requests in {summary['seconds']:.1f} s = "
            f"{summary['rps']:.0f}/s; p50 {summary['p50']:.0f} ms, p95 {summary['p95']:.0f} ms, "
            f"p99 {summary['p99']:.0f} ms, max {summary['max']:.0f} ms; errors "
            f"{summary['errors']} (warm-up: {len(warm.samples)} requests, "
            f"{sum(1 for s in warm.samples if s.problem)} errors); AWS connections {aws_during}; "
            f"{workers_seen} workers"
        )
        for label, e in sorted(summary["endpoints"].items(), key=lambda kv: -kv[1]["p99"]):
            print(
                f"  {label:32} n={e['n']:6} p50={e['p50']:6.1f} ms p99={e['p99']:6.1f} ms "
                f"max={e['max']:6.1f} ms errors={e['errors']} queries={queries.get(label)}"
            )
        print(
            "CPU during the load, in cores: "
            + ", ".join(
                f"{k} {v:.2f}"
                for k, v in cpu.items()
                if k != "cores" and (k != "postgres" or database.data_dir is not None)
            )
            + f" (of {cpu['cores']:.0f})"
        )
        for problem, n in summary["problems"].most_common(10):
            print(f"  error x{n}: {problem}")
        ok = (
            summary["rps"] >= TARGET_RPS
            and summary["p99"] <= TARGET_P99_MS
            and summary["errors"] == 0
            and aws_during == 0
        )
        if not args.no_write:
            write(
                {
                    "summary": summary,
                    "counts": data["counts"],
                    "weights": mix.weights,
                    "queries": queries,
                    "workers": args.workers,
                    "workers_seen": workers_seen,
                    "concurrency": args.concurrency,
                    "warmup": args.warmup,
                    "database": database.label,
                    "cpu": cpu,
                    "database_own": database.data_dir is not None,
                    "aws_during": aws_during,
                    "aws_total": tripwire.connections,
                }
            )
    print(f"whole run {time.monotonic() - run_started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
