"""The console's budget of AWS calls: a share of each throttled API for each kind of work.

AWS throttles an API per account and region with one token bucket that every caller draws
from, the company's own services included. The console keeps to a configured share of it:
for each kind of work (`sync`, `events`, `backfill`, `recovery` for recovery jobs and tasks,
`monitoring` for metric polling and alerting, `interactive` for pages, `other` for unlabelled
background calls) a bucket of `share x burst` tokens refilled at
`share x rate` a second, per environment and API. Every worker process draws from the same
buckets: in Redis when one is configured (the Celery broker's), else in a SQLite file that the
processes of the one machine running the embedded broker share.

A background call waits for its token (at most AWS_BUDGET_MAX_WAIT; then BudgetExhausted
stops the work, which resumes on its next run). A page's call waits at most
AWS_BUDGET_INTERACTIVE_WAIT, then the page shows what it has (BudgetExhausted is an
AwsUnavailable). When AWS answers ThrottlingException anyway (other callers emptied the
account's bucket), the key cools down for a few seconds before its next call.

`usage()` is what an admin page and the metrics read: calls and throttles over the last
minute against each budget.
"""

from __future__ import annotations

import contextvars
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from django.conf import settings

from .errors import Throttled

P = ParamSpec("P")
R = TypeVar("R")

# (burst, refill per second) of the APIs the console calls in bulk: AWS's documented
# defaults for Step Functions in the large regions (us-east-1, us-west-2, eu-west-1).
# Other regions have lower ones: set OPSCONSOLE_AWS_QUOTAS.
DEFAULT_QUOTAS: dict[str, tuple[float, float]] = {
    "stepfunctions.DescribeExecution": (300, 15),
    "stepfunctions.GetExecutionHistory": (400, 20),
    "stepfunctions.ListExecutions": (200, 5),
    "stepfunctions.StartExecution": (1300, 300),
    # CloudWatch's GetMetricData: 50 transactions a second (its documented default).
    "cloudwatch.GetMetricData": (50, 50),
}
WORK_KINDS = ("sync", "events", "backfill", "recovery", "monitoring", "interactive", "other")
THROTTLE_COOLDOWN = 2.0  # seconds a key rests after AWS itself answered ThrottlingException
SLOT_SECONDS = 10  # usage is counted in 10 s slots; the last minute is six of them
WINDOW_SLOTS = 6


class BudgetExhausted(Throttled):
    """The console's share of an API is used up for now (AWS was not asked)."""

    code = "BudgetExhausted"


_work: ContextVar[str] = ContextVar("aws_budget_work", default="other")


@contextmanager
def work(kind: str) -> Iterator[None]:
    """Charge the AWS calls made inside to `kind`'s share."""
    if kind not in WORK_KINDS:
        raise ValueError(f"unknown kind of work {kind!r} (known: {', '.join(WORK_KINDS)})")
    token = _work.set(kind)
    try:
        yield
    finally:
        _work.reset(token)


def current_work() -> str:
    return _work.get()


def charged_to(kind: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorate a task or job runner: every AWS call it makes is charged to `kind`'s share
    (one place per kind of work, not at each call site)."""
    if kind not in WORK_KINDS:
        raise ValueError(f"unknown kind of work {kind!r} (known: {', '.join(WORK_KINDS)})")

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def charged(*args: P.args, **kwargs: P.kwargs) -> R:
            with work(kind):
                return fn(*args, **kwargs)

        return charged

    return decorate


class ThreadPool(ThreadPoolExecutor):
    """A thread pool whose calls run in a copy of the submitting thread's context, so the
    kind of work (and its patience) goes along with them; a plain pool's threads would
    charge their calls to `other`."""

    def submit(self, fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> Future[R]:
        context = contextvars.copy_context()
        return super().submit(lambda: context.run(fn, *args, **kwargs))


_until: ContextVar[float | None] = ContextVar("aws_budget_until", default=None)


@contextmanager
def patience(seconds: float) -> Iterator[None]:
    """Inside, stop waiting for tokens `seconds` from now (work that would rather stop and
    resume on its next run than hold a worker; threads given this context share the end)."""
    token = _until.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _until.reset(token)


_prepaid: ContextVar[tuple[str, str, str] | None] = ContextVar("aws_budget_prepaid", default=None)


def reserve(env_name: str, service: str, operation: str) -> None:
    """Take the calling work's token for one call of the API now, waiting for it as the call
    would (BudgetExhausted when none comes in time); make the call inside `prepaid`. Work
    that must be done in order (the backfill's newest first) reserves its tokens in that
    order and then makes its calls in parallel."""
    acquire(env_name, service, operation, interactive=False)


def prepay(env_name: str, service: str, operation: str) -> None:
    """In the current context, the next call of the API is paid for by a `reserve`d token
    (for a context copied per call: `ctx.run(prepay, ...)`, then the call in `ctx`)."""
    _prepaid.set((env_name, service, operation))


def quotas() -> dict[str, tuple[float, float]]:
    """The account's quota of each throttled API, `service.Operation` -> (burst, rate)."""
    return {**DEFAULT_QUOTAS, **settings.AWS_QUOTAS}


def limit_for(service: str, operation: str, kind: str) -> tuple[float, float] | None:
    """(burst, rate) of `kind`'s bucket for the API; None when the API is not budgeted."""
    quota = quotas().get(f"{service}.{operation}")
    if quota is None:
        return None
    share = settings.AWS_BUDGET_SHARES.get(kind, settings.AWS_BUDGET_SHARES.get("other", 0.1))
    return max(1.0, quota[0] * share), quota[1] * share


class _Store(Protocol):
    def take(self, key: str, burst: float, rate: float, max_wait: float) -> tuple[bool, float]:
        """Reserve the next token if it comes within `max_wait` seconds: (True, seconds to
        wait before calling), counted as a call; else (False, seconds until one would)."""

    def record(self, key: str, field: str) -> None:
        """Count a `throttled` (with a cool-down) or `refused` call."""

    def counts(self) -> dict[str, dict[str, float]]:
        """key -> calls/throttled/refused over the last minute and in total."""


def _slot(now: float) -> int:
    return int(now // SLOT_SECONDS)


class _FileStore:
    """Buckets and counters in a SQLite file shared by this machine's processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        # SQLite's busy handler polls: under contention one thread can lose for seconds. The
        # threads of a process queue on this lock instead; processes still share the file.
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS bucket (key TEXT PRIMARY KEY, tokens REAL, "
                "updated REAL, cooldown REAL DEFAULT 0)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS usage (key TEXT, slot INTEGER, field TEXT, "
                "n INTEGER, PRIMARY KEY (key, slot, field))"
            )

    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    def _count(self, db: sqlite3.Connection, key: str, field: str, now: float) -> None:
        for slot in (_slot(now), -1):  # -1: the total
            db.execute(
                "INSERT INTO usage VALUES (?, ?, ?, 1) ON CONFLICT (key, slot, field) "
                "DO UPDATE SET n = n + 1",
                (key, slot, field),
            )

    def take(self, key: str, burst: float, rate: float, max_wait: float) -> tuple[bool, float]:
        with self._lock:
            return self._take(key, burst, rate, max_wait)

    def _take(self, key: str, burst: float, rate: float, max_wait: float) -> tuple[bool, float]:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        now = time.time()  # read inside the lock: a writer never moves the clock back
        try:
            row = db.execute(
                "SELECT tokens, updated, cooldown FROM bucket WHERE key = ?", (key,)
            ).fetchone()
            tokens, updated, cooldown = row if row else (burst, now, 0.0)
            if now < cooldown:
                db.execute("COMMIT")
                return False, float(cooldown - now)
            tokens = min(burst, tokens + max(0.0, now - updated) * rate)
            # A reservation: the bucket may go below zero, each caller waiting its turn
            # (first come, first served: no thread starves while others keep winning).
            wait = max(0.0, (1 - tokens) / rate)
            granted = wait <= max_wait
            if granted:
                tokens -= 1
                self._count(db, key, "calls", now)
            db.execute(
                "INSERT INTO bucket (key, tokens, updated, cooldown) VALUES (?, ?, ?, 0) "
                "ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, "
                "updated = excluded.updated",
                (key, tokens, now),
            )
            if not row or _slot(now) != _slot(updated):
                db.execute(
                    "DELETE FROM usage WHERE slot >= 0 AND slot < ?", (_slot(now) - WINDOW_SLOTS,)
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return granted, wait

    def record(self, key: str, field: str) -> None:
        with self._lock:
            self._record(key, field)

    def _record(self, key: str, field: str) -> None:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")
        now = time.time()
        try:
            self._count(db, key, field, now)
            if field == "throttled":
                db.execute(
                    "INSERT INTO bucket (key, tokens, updated, cooldown) VALUES (?, 0, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET tokens = 0, updated = excluded.updated, "
                    "cooldown = excluded.cooldown",
                    (key, now, now + THROTTLE_COOLDOWN),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def counts(self) -> dict[str, dict[str, float]]:
        since = _slot(time.time()) - WINDOW_SLOTS + 1
        out: dict[str, dict[str, float]] = {}
        for key, slot, field, n in self._connect().execute(
            "SELECT key, slot, field, n FROM usage WHERE slot = -1 OR slot >= ?", (since,)
        ):
            entry = out.setdefault(key, {})
            name = f"{field}_total" if slot == -1 else field
            entry[name] = entry.get(name, 0) + n
        return out

    def clear(self) -> None:
        db = self._connect()
        db.execute("DELETE FROM bucket")
        db.execute("DELETE FROM usage")


_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local burst = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'updated', 'cooldown')
local tokens = tonumber(b[1]) or burst
local updated = tonumber(b[2]) or now
local cooldown = tonumber(b[3]) or 0
if now < cooldown then return {0, tostring(cooldown - now)} end
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local wait = math.max(0, (1 - tokens) / rate)
local granted = 0
if wait <= tonumber(ARGV[6]) then
  granted = 1
  tokens = tokens - 1
  local slot = math.floor(now / tonumber(ARGV[3]))
  redis.call('HINCRBY', KEYS[2] .. slot, ARGV[4] .. '|calls', 1)
  redis.call('EXPIRE', KEYS[2] .. slot, tonumber(ARGV[3]) * (tonumber(ARGV[5]) + 1))
  redis.call('HINCRBY', KEYS[2] .. 'total', ARGV[4] .. '|calls', 1)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
return {granted, tostring(wait)}
"""

_PREFIX = "opsconsole:aws-budget:"


class _RedisStore:
    """Buckets and counters in Redis, shared by every worker on every host."""

    def __init__(self, url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(url)
        self._take = self.redis.register_script(_TAKE)

    def take(self, key: str, burst: float, rate: float, max_wait: float) -> tuple[bool, float]:
        granted, wait = self._take(
            keys=[f"{_PREFIX}bucket:{key}", f"{_PREFIX}usage:"],
            args=[burst, rate, SLOT_SECONDS, key, WINDOW_SLOTS, max_wait],
        )
        return bool(int(granted)), float(wait)

    def record(self, key: str, field: str) -> None:
        now = time.time()
        slot = f"{_PREFIX}usage:{_slot(now)}"
        pipe = self.redis.pipeline()
        pipe.hincrby(slot, f"{key}|{field}", 1)
        pipe.expire(slot, SLOT_SECONDS * (WINDOW_SLOTS + 1))
        pipe.hincrby(f"{_PREFIX}usage:total", f"{key}|{field}", 1)
        if field == "throttled":
            pipe.hset(
                f"{_PREFIX}bucket:{key}",
                mapping={"tokens": 0, "updated": now, "cooldown": now + THROTTLE_COOLDOWN},
            )
        pipe.execute()

    def counts(self) -> dict[str, dict[str, float]]:
        current = _slot(time.time())
        names = [
            (f"{_PREFIX}usage:{s}", "") for s in range(current - WINDOW_SLOTS + 1, current + 1)
        ]
        names.append((f"{_PREFIX}usage:total", "_total"))
        pipe = self.redis.pipeline()
        for name, _ in names:
            pipe.hgetall(name)
        out: dict[str, dict[str, float]] = {}
        for (_, suffix), found in zip(names, pipe.execute(), strict=True):
            for raw_field, n in found.items():
                key, _, field = raw_field.decode().rpartition("|")
                entry = out.setdefault(key, {})
                entry[field + suffix] = entry.get(field + suffix, 0) + int(n)
        return out

    def clear(self) -> None:
        for name in self.redis.scan_iter(f"{_PREFIX}*"):
            self.redis.delete(name)


_stores: dict[str, Any] = {}
_stores_lock = threading.Lock()


def _store() -> Any:
    where = settings.AWS_BUDGET_REDIS_URL or str(settings.AWS_BUDGET_FILE)
    found = _stores.get(where)
    if found is None:
        with _stores_lock:
            found = _stores.get(where)
            if found is None:
                found = (
                    _RedisStore(where) if settings.AWS_BUDGET_REDIS_URL else _FileStore(Path(where))
                )
                _stores[where] = found
    return found


def _key(env_name: str, service: str, operation: str, kind: str) -> str:
    return f"{env_name}|{service}|{operation}|{kind}"


def acquire(env_name: str, service: str, operation: str, *, interactive: bool) -> None:
    """Wait for a token of the calling work's share of the API (see the module docstring)."""
    if not settings.AWS_BUDGET_ENABLED:
        return
    if not interactive and _prepaid.get() == (env_name, service, operation):
        _prepaid.set(None)  # its token was reserved in order before the call was handed on
        return
    kind = "interactive" if interactive else _work.get()
    limit = limit_for(service, operation, kind)
    if limit is None:
        return
    store = _store()
    key = _key(env_name, service, operation, kind)
    wait_at_most = (
        settings.AWS_BUDGET_INTERACTIVE_WAIT if interactive else settings.AWS_BUDGET_MAX_WAIT
    )
    deadline = time.monotonic() + wait_at_most
    until = _until.get()
    if until is not None:
        deadline = min(deadline, until)
    while True:
        granted, wait = store.take(key, *limit, max(0.0, deadline - time.monotonic()))
        if granted:
            if wait > 0:
                time.sleep(wait)  # the token reserved for this call comes then
            return
        if time.monotonic() + wait > deadline:
            store.record(key, "refused")
            raise BudgetExhausted(
                f"the console's {kind} share of {operation} is used up for "
                f"{wait:.1f} s more; it resumes then"
            )
        time.sleep(wait)  # cooling down after AWS throttled


def throttled(env_name: str, service: str, operation: str, *, interactive: bool) -> None:
    """AWS itself refused a call with ThrottlingException: count it and cool the key down."""
    if not settings.AWS_BUDGET_ENABLED:
        return
    kind = "interactive" if interactive else _work.get()
    if limit_for(service, operation, kind) is None:
        return
    _store().record(_key(env_name, service, operation, kind), "throttled")


@dataclass(frozen=True)
class Usage:
    """One kind of work's use of one API in one environment."""

    environment: str
    service: str
    operation: str
    work: str
    quota_rate: float
    budget_rate: float
    budget_burst: float
    calls_last_minute: int
    throttled_last_minute: int
    refused_last_minute: int
    calls_total: int
    throttled_total: int
    refused_total: int

    @property
    def rate_last_minute(self) -> float:
        return self.calls_last_minute / (SLOT_SECONDS * WINDOW_SLOTS)

    @property
    def percent_of_budget(self) -> float:
        return 100.0 * self.rate_last_minute / self.budget_rate if self.budget_rate else 0.0


def usage() -> list[Usage]:
    """Calls, AWS throttles and budget refusals per environment, API and kind of work (the
    admin page and the metrics read this; rates over the last minute)."""
    if not settings.AWS_BUDGET_ENABLED:
        return []
    counted = _store().counts()
    out = []
    for key, c in sorted(counted.items()):
        env_name, service, operation, kind = key.split("|")
        limit = limit_for(service, operation, kind)
        quota = quotas().get(f"{service}.{operation}")
        if limit is None or quota is None:
            continue
        out.append(
            Usage(
                environment=env_name,
                service=service,
                operation=operation,
                work=kind,
                quota_rate=quota[1],
                budget_rate=limit[1],
                budget_burst=limit[0],
                calls_last_minute=int(c.get("calls", 0)),
                throttled_last_minute=int(c.get("throttled", 0)),
                refused_last_minute=int(c.get("refused", 0)),
                calls_total=int(c.get("calls_total", 0)),
                throttled_total=int(c.get("throttled_total", 0)),
                refused_total=int(c.get("refused_total", 0)),
            )
        )
    return out


def budgets() -> list[tuple[str, str, float, float]]:
    """Every configured budget: (API, kind of work, burst, rate per second)."""
    out = []
    for api in sorted(quotas()):
        service, _, operation = api.partition(".")
        for kind in WORK_KINDS:
            limit = limit_for(service, operation, kind)
            if limit is not None:
                out.append((api, kind, limit[0], limit[1]))
    return out


def reset() -> None:
    """Empty every bucket's history and counter (tests; after changing the settings)."""
    with _stores_lock:
        for store in _stores.values():
            store.clear()
        _stores.clear()
