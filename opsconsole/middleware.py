"""Request ids: one per request, in the response header and on every log line."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

from opsconsole.aws import clients

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdMiddleware:
    """Honour an incoming X-Request-ID (from the load balancer) or make one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _VALID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid  # type: ignore[attr-defined]
        token = request_id_var.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = rid
        return response


class InteractiveAwsMiddleware:
    """AWS calls made while serving a request use the interactive profile: short timeouts,
    the circuit breaker and a budget for the page's AWS time in all, so a hanging AWS costs a
    page about a second, not minutes. What the page waited on AWS goes out as Server-Timing
    (browsers' developer tools show it; the fault suite reads it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with clients.interactive():
            response = self.get_response(request)
            spent = clients.page_time()
        if spent is not None and spent.calls:
            response["Server-Timing"] = (
                f'aws;dur={spent.seconds * 1000:.0f};desc="AWS calls: {spent.calls}"'
            )
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True
