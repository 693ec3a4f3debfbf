"""One lazily built boto3 client per service and environment, configured from settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from . import budget
from .errors import AwsUnavailable, PageBudgetSpent, translate

# AWS's codes for "rate exceeded" (what the budget counts as AWS throttling the console).
_THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"}
)


@dataclass(frozen=True)
class AwsEnvironment:
    """Where one set of sagas lives: an account/region, reached directly or via a role."""

    name: str
    region: str
    endpoint_url: str | None = None
    role_arn: str | None = None
    account_id: str | None = None


def default_environment() -> AwsEnvironment:
    return AwsEnvironment(
        name="default",
        region=settings.AWS_REGION,
        endpoint_url=settings.AWS_ENDPOINT_URL,
        role_arn=settings.AWS_ROLE_ARN,
    )


_lock = threading.RLock()  # breaker() is called while client() holds it
_sessions: dict[AwsEnvironment, boto3.session.Session] = {}
_clients: dict[tuple[str, AwsEnvironment, bool], Any] = {}
_endpoint_override: str | None = None
_interactive: ContextVar[bool] = ContextVar("aws_interactive", default=False)


@dataclass
class PageAwsTime:
    """What one page has spent waiting on AWS: each call's wall time, summed. Once it
    reaches AWS_INTERACTIVE_PAGE_SECONDS the page's further calls fail fast, so a slow (not
    dead) AWS cannot hold a page for a timeout per call; the total goes out as the
    response's Server-Timing."""

    seconds: float = 0.0
    calls: int = 0
    cut_short: int = 0

    def spend(self, seconds: float) -> None:
        with _lock:
            self.seconds += seconds
            self.calls += 1


_page_time: ContextVar[PageAwsTime | None] = ContextVar("aws_page_time", default=None)
_budget_exempt: ContextVar[bool] = ContextVar("aws_budget_exempt", default=False)


@contextmanager
def beyond_page_budget() -> Iterator[None]:
    """Calls that must be made even when the page has spent its AWS time: undoing what the
    page started (making held messages visible again). The circuit breaker still applies."""
    token = _budget_exempt.set(True)
    try:
        yield
    finally:
        _budget_exempt.reset(token)


# Environments found unreachable during the current page: its other calls there fail fast,
# so a page that reads two services waits for one timeout, not two.
_unreachable_here: ContextVar[set[str] | None] = ContextVar("aws_unreachable_here", default=None)


@contextmanager
def interactive() -> Iterator[None]:
    """AWS calls made inside serve a person waiting on a page: short timeouts, no retry
    beyond the configured attempts, and fail fast while the endpoint's circuit is open."""
    token = _interactive.set(True)
    failed = _unreachable_here.set(set())
    spent = _page_time.set(PageAwsTime())
    try:
        yield
    finally:
        _page_time.reset(spent)
        _unreachable_here.reset(failed)
        _interactive.reset(token)


def is_interactive() -> bool:
    return _interactive.get()


def page_time() -> PageAwsTime | None:
    """What the current page has waited on AWS so far (None outside a page)."""
    return _page_time.get()


def _config(interactive: bool = False) -> Config:
    if interactive:
        return Config(
            retries={
                "mode": "standard",
                "total_max_attempts": settings.AWS_INTERACTIVE_MAX_ATTEMPTS,
            },
            connect_timeout=settings.AWS_INTERACTIVE_CONNECT_TIMEOUT,
            read_timeout=settings.AWS_INTERACTIVE_READ_TIMEOUT,
            max_pool_connections=20,
        )
    return Config(
        retries={"mode": "standard", "total_max_attempts": settings.AWS_MAX_ATTEMPTS},
        connect_timeout=settings.AWS_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_READ_TIMEOUT,
        max_pool_connections=20,
    )


class CircuitBreaker:
    """One per environment and service: after `failures` unreachable answers in a row, pages
    stop calling for `cooldown` seconds (they show what they have, with its age); then one
    call probes, and a success closes the circuit. Background calls are never refused, but
    their outcomes count, so a worker that found AWS down spares the pages the wait."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.RLock()  # breaker() is called while client() holds it
        self.failures = 0
        self.open_until = 0.0
        self.probing = False

    def before(self, interactive: bool) -> bool:
        """Whether the call may go ahead (True: it is the half-open probe or a normal call)."""
        if not interactive:
            return True
        with self._lock:
            if self.failures < settings.AWS_BREAKER_FAILURES:
                return True
            if time.monotonic() < self.open_until or self.probing:
                return False
            self.probing = True
            return True

    def succeeded(self) -> None:
        with self._lock:
            self.failures = 0
            self.probing = False

    def failed(self) -> None:
        with self._lock:
            self.failures += 1
            self.probing = False
            if self.failures >= settings.AWS_BREAKER_FAILURES:
                self.open_until = time.monotonic() + settings.AWS_BREAKER_COOLDOWN

    def released(self) -> None:
        """The call ended with an answer that says nothing about reachability."""
        with self._lock:
            self.probing = False

    @property
    def is_open(self) -> bool:
        return self.failures >= settings.AWS_BREAKER_FAILURES and time.monotonic() < self.open_until

    def retry_in(self) -> float:
        return max(0.0, self.open_until - time.monotonic())


_breakers: dict[tuple[str, str], CircuitBreaker] = {}


def breaker(service: str, env: AwsEnvironment) -> CircuitBreaker:
    key = (env.name, service)
    found = _breakers.get(key)
    if found is None:
        with _lock:
            found = _breakers.setdefault(key, CircuitBreaker(f"{service} in {env.name}"))
    return found


def open_circuits() -> list[str]:
    """What pages currently do not call (for a banner naming what is unreachable)."""
    return sorted(b.name for b in list(_breakers.values()) if b.is_open)


def _unreachable(exc: Exception) -> bool:
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return int(status or 0) >= 500
    return isinstance(exc, BotoCoreError)


def _throttling(exc: Exception) -> bool:
    return (
        isinstance(exc, ClientError)
        and exc.response.get("Error", {}).get("Code") in _THROTTLING_CODES
    )


def _guard(
    api_call: Callable[..., Any],
    guard: CircuitBreaker,
    env: AwsEnvironment,
    interactive: bool,
    service: str = "",
) -> Any:
    def guarded(operation_name: str, api_params: Any) -> Any:
        failed_here = _unreachable_here.get() if interactive else None
        if failed_here is not None and env.name in failed_here:
            raise AwsUnavailable(f"AWS in {env.name} did not answer this page's first call")
        spent = _page_time.get() if interactive else None
        if (
            spent is not None
            and spent.seconds >= settings.AWS_INTERACTIVE_PAGE_SECONDS
            and not _budget_exempt.get()
        ):
            spent.cut_short += 1
            raise PageBudgetSpent(
                f"this page has waited {spent.seconds:.1f} s on AWS already; not asking again"
            )
        if not guard.before(interactive):
            if failed_here is not None:
                # What this page learned: the environment has an endpoint down, so its other
                # services fail fast here too rather than each costing a timeout.
                failed_here.add(env.name)
            raise AwsUnavailable(
                f"{guard.name} is unreachable; not asking again for "
                f"{guard.retry_in():.0f} s (circuit open)"
            )
        # Within the console's share of the API (waits, or raises BudgetExhausted).
        try:
            budget.acquire(env.name, service, operation_name, interactive=interactive)
        except budget.BudgetExhausted:
            guard.released()
            raise
        started = time.monotonic()
        try:
            result = api_call(operation_name, api_params)
        except Exception as exc:
            if spent is not None:
                spent.spend(time.monotonic() - started)
            if _throttling(exc):
                budget.throttled(env.name, service, operation_name, interactive=interactive)
            if _unreachable(exc):
                guard.failed()
                if failed_here is not None:
                    failed_here.add(env.name)
            else:
                guard.released()
            raise
        if spent is not None:
            spent.spend(time.monotonic() - started)
        guard.succeeded()
        return result

    return guarded


def _assumed_role_credentials(
    base: boto3.session.Session, env: AwsEnvironment, endpoint: str | None
) -> RefreshableCredentials:
    """Credentials of `env.role_arn` that botocore renews before they expire (it calls
    `refresh` again inside its advisory window), so a long-lived worker never holds dead
    credentials."""
    sts = base.client("sts", endpoint_url=endpoint, config=_config())

    def refresh() -> dict[str, str]:
        try:
            creds = sts.assume_role(
                RoleArn=env.role_arn or "",
                RoleSessionName="opsconsole",
                DurationSeconds=settings.AWS_ROLE_SESSION_SECONDS,
            )["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, operation="AssumeRole") from exc
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    return RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="sts-assume-role"
    )


_loader: Any = None


def _botocore_session() -> botocore.session.Session:
    """A botocore session sharing one data loader with every other: the service models and
    endpoint data are parsed once per process, so a client for a new environment (or the
    interactive profile's first client) is built in milliseconds, not a tenth of a second."""
    global _loader
    if _loader is None:
        _loader = botocore.loaders.create_loader()
    core = botocore.session.Session()
    core.register_component("data_loader", _loader)
    return core


def _session(env: AwsEnvironment) -> boto3.session.Session:
    session = _sessions.get(env)
    if session is not None:
        return session
    endpoint = _endpoint_override or env.endpoint_url
    base_kwargs: dict[str, Any] = {"region_name": env.region}
    if settings.AWS_ACCESS_KEY_ID and settings.AWS_SECRET_ACCESS_KEY:
        base_kwargs["aws_access_key_id"] = settings.AWS_ACCESS_KEY_ID
        base_kwargs["aws_secret_access_key"] = settings.AWS_SECRET_ACCESS_KEY
    elif endpoint:
        # An emulator accepts any credentials; don't go looking for real ones.
        base_kwargs["aws_access_key_id"] = "emulator"
        base_kwargs["aws_secret_access_key"] = "emulator"  # noqa: S105
    session = boto3.session.Session(botocore_session=_botocore_session(), **base_kwargs)
    if env.role_arn:
        core = _botocore_session()
        # boto3 offers no public way to hand a session refreshable credentials.
        core._credentials = _assumed_role_credentials(session, env, endpoint)  # type: ignore[attr-defined]
        session = boto3.session.Session(botocore_session=core, region_name=env.region)
    # boto3 appends its own data directory to the shared loader's path for every session.
    paths = _loader.search_paths
    paths[:] = list(dict.fromkeys(paths))
    _sessions[env] = session
    return session


def credentials_of(env: AwsEnvironment) -> Any:
    """The credentials the clients of `env` sign with (refreshing ones for an assumed role)."""
    with _lock:
        return _session(env).get_credentials()


def client(service: str, env: AwsEnvironment | None = None) -> Any:
    """The shared, lazily built client for `service` in `env` (default: from settings), with
    the interactive or the background profile depending on who is calling."""
    env = env or default_environment()
    mode = _interactive.get()
    key = (service, env, mode)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            endpoint = _endpoint_override or env.endpoint_url
            session: Any = _session(env)  # service names are data (the registry), not literals
            found = session.client(service, endpoint_url=endpoint, config=_config(mode))
            # Every operation, paginated ones included, goes through _make_api_call.
            found._make_api_call = _guard(
                found._make_api_call, breaker(service, env), env, mode, service
            )
            _clients[key] = found
    return found


def both_profiles(service: str, env: AwsEnvironment | None = None) -> tuple[Any, Any]:
    """The background and the interactive client of `service` in `env`, for instrumentation
    that must see every call (benchmarks and tests that count them)."""
    background = client(service, env)
    with interactive():
        page = client(service, env)
    return background, page


_generation = 0


def generation() -> int:
    """Changes whenever the clients are forgotten: what gateways key their own caches by."""
    return _generation


def reset_clients() -> None:
    """Forget every cached client (after settings change, or expired assumed credentials)."""
    global _generation
    with _lock:
        _generation += 1
        _clients.clear()
        _sessions.clear()
        _breakers.clear()


def set_endpoint_override(url: str | None) -> None:
    """Point every client at `url` for the rest of this process (the demo supervisor)."""
    global _endpoint_override
    _endpoint_override = url
    reset_clients()


@contextmanager
def endpoint_override(url: str | None) -> Iterator[None]:
    """Point every client at `url` (the embedded emulator) for the duration of the block."""
    previous = _endpoint_override
    set_endpoint_override(url)
    try:
        yield
    finally:
        set_endpoint_override(previous)


P = ParamSpec("P")
R = TypeVar("R")


def aws_call(operation: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Translate botocore errors raised inside a gateway function into named errors."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return fn(*args, **kwargs)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, operation=operation) from exc

        return wrapper

    return decorate
