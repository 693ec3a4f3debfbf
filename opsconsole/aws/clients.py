"""One lazily built boto3 client per service and environment, configured from settings."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings

from .errors import translate


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


_lock = threading.Lock()
_sessions: dict[AwsEnvironment, boto3.session.Session] = {}
_clients: dict[tuple[str, AwsEnvironment], Any] = {}
_endpoint_override: str | None = None


def _config() -> Config:
    return Config(
        retries={"mode": "standard", "max_attempts": settings.AWS_MAX_ATTEMPTS},
        connect_timeout=settings.AWS_CONNECT_TIMEOUT,
        read_timeout=settings.AWS_READ_TIMEOUT,
        max_pool_connections=20,
    )


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
    session = boto3.session.Session(**base_kwargs)
    if env.role_arn:
        sts = session.client("sts", endpoint_url=endpoint, config=_config())
        try:
            creds = sts.assume_role(RoleArn=env.role_arn, RoleSessionName="opsconsole")[
                "Credentials"
            ]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, operation="AssumeRole") from exc
        # Assumed credentials expire; the session is rebuilt when a call says so.
        session = boto3.session.Session(
            region_name=env.region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    _sessions[env] = session
    return session


def client(service: str, env: AwsEnvironment | None = None) -> Any:
    """The shared, lazily built client for `service` in `env` (default: from settings)."""
    env = env or default_environment()
    key = (service, env)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            endpoint = _endpoint_override or env.endpoint_url
            session: Any = _session(env)  # service names are data (the registry), not literals
            found = session.client(service, endpoint_url=endpoint, config=_config())
            _clients[key] = found
    return found


def reset_clients() -> None:
    """Forget every cached client (after settings change, or expired assumed credentials)."""
    with _lock:
        _clients.clear()
        _sessions.clear()


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
