"""What every API endpoint shares: one error format (RFC 9457 problem details) from one
exception handler, for domain errors and DRF's own alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from opsconsole.errors import DomainError

from .problems import PROBLEM_CONTENT_TYPE, problem, problem_for

_DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ValidationError: "invalid_input",
    drf.ParseError: "invalid_input",
    drf.NotAuthenticated: "unauthenticated",
    drf.AuthenticationFailed: "unauthenticated",
    drf.PermissionDenied: "permission_refused",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
}


def _field_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail flattened to {"field.sub": ["reason", ...]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, Mapping):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_field_errors(value, name))
    elif isinstance(detail, list) and detail and not all(isinstance(d, str) for d in detail):
        for index, value in enumerate(detail):
            out.update(_field_errors(value, f"{prefix}[{index}]" if prefix else str(index)))
    elif isinstance(detail, list):
        out[prefix or "non_field_errors"] = [str(d) for d in detail]
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def problem_response(body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    response = Response(body, status=body["status"], headers=dict(headers or {}))
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every error leaves the API as application/problem+json."""
    if isinstance(exc, DomainError):
        set_rollback()
        return problem_response(problem_for(exc))
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    if not isinstance(exc, drf.APIException):
        return None  # a bug: Django's 500 handling takes over (no detail leaks)
    set_rollback()
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "invalid_input")
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    wait = getattr(exc, "wait", None)  # set by Throttled when the throttle knows it
    if isinstance(exc, drf.Throttled) and wait is not None:
        headers["Retry-After"] = str(int(wait))
    if code == "invalid_input":
        body = problem(
            code,
            status=exc.status_code,
            detail="Some fields are not valid.",
            errors=_field_errors(exc.detail),
        )
    else:
        body = problem(code, status=exc.status_code, detail=str(exc.detail))
    return problem_response(body, headers)
