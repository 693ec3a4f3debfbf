"""Probes for load balancers: /healthz (process up) and /readyz (dependencies reachable)."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from opsconsole.aws import errors as aws_errors
from opsconsole.aws import stepfunctions


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _check_broker() -> str:
    from opsconsole.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return str(conn.transport_cls)


def _check_aws() -> str:
    from opsconsole.registry import get_registry

    registry = get_registry()
    for env in registry.environments.values():
        stepfunctions.list_state_machines(env)
    return f"{len(registry.environments)} environment(s)"


# What the web process needs to serve: without these it is not ready.
CHECKS: dict[str, Callable[[], str]] = {
    "database": _check_database,
    "broker": _check_broker,
}
# Reported, but never a reason to take a web process out of the load balancer: lists,
# search and cached case pages serve from the database while AWS is away.
REPORTED: dict[str, Callable[[], str]] = {
    "aws": _check_aws,
}


# A probe answers fast (within 1.5 s): a reported check that has not answered by then is
# reported as unreachable (its call goes on, bounded by the page profile's own timeouts).
REPORTED_WITHIN_SECONDS = 1.5
_probe_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readyz")


def _within(seconds: float, check: Callable[[], str]) -> str:
    # The copied context carries the request's AWS profile (short timeouts) into the thread.
    future = _probe_pool.submit(contextvars.copy_context().run, check)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        raise TimeoutError(f"unreachable: no answer within {seconds:g} s") from None


@require_GET
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    ready = True
    for name, check in (CHECKS | REPORTED).items():
        required = name in CHECKS
        started = time.monotonic()
        try:
            detail = check() if required else _within(REPORTED_WITHIN_SECONDS, check)
            results[name] = {"ok": True, "detail": detail}
        except aws_errors.AwsError as exc:
            results[name] = {"ok": False, "error": f"{exc.code}: {exc}"[:300]}
        except Exception as exc:  # noqa: BLE001 - a probe reports every failure, never raises
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
        results[name]["required"] = required
        results[name]["ms"] = round((time.monotonic() - started) * 1000, 1)
        ready = ready and (bool(results[name]["ok"]) or not required)
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": results},
        status=200 if ready else 503,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """The console's own 500 page: no stack trace, a request id to quote, and no context
    processors (what failed, the database or the registry, must not fail this page too)."""
    body = loader.get_template("500.html").render(
        {"request_id": getattr(request, "request_id", "")}
    )
    return HttpResponseServerError(body)
