"""The one mapping from domain error codes to HTTP: status, title and the message a person
reads, for pages (`message_for`) and for the API (RFC 9457 problem details, `problem_for`).

Features register their codes from `AppConfig.ready()` with `register_errors`; an
unregistered code is a 400 with a generic message, so a missing entry is visible, not fatal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from opsconsole.errors import DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://opsconsole.dev/problems/"

Message = str | Callable[[Mapping[str, Any]], str]


@dataclass(frozen=True)
class ErrorSpec:
    """How one code reads: HTTP status, a short title, and the message (a `str.format`
    template over the error's params, or a function of them)."""

    status: int
    title: str
    message: Message

    def render(self, params: Mapping[str, Any]) -> str:
        if callable(self.message):
            return self.message(params)
        try:
            return self.message.format(**params)
        except (KeyError, IndexError, ValueError):
            return self.title


_SPECS: dict[str, ErrorSpec] = {
    "invalid_input": ErrorSpec(400, "Invalid input", "Some fields are not valid."),
    "not_found": ErrorSpec(404, "Not found", "{what} was not found."),
    "permission_refused": ErrorSpec(403, "Not allowed", "Your role does not allow this action."),
    "throttled": ErrorSpec(429, "Too many requests", "Slow down and try again later."),
    "unauthenticated": ErrorSpec(401, "Not signed in", "Authentication is required."),
    "method_not_allowed": ErrorSpec(405, "Method not allowed", "This method is not allowed."),
    "not_acceptable": ErrorSpec(406, "Not acceptable", "This format cannot be served."),
    "unsupported_media_type": ErrorSpec(415, "Unsupported media type", "Send JSON."),
    "server_error": ErrorSpec(500, "Server error", "Something went wrong on our side."),
}
_FALLBACK = ErrorSpec(400, "Request refused", "The request was refused ({code}).")


def register_errors(specs: Mapping[str, ErrorSpec]) -> None:
    """Add a feature's codes to the mapping (idempotent; a code keeps one meaning)."""
    for code, spec in specs.items():
        existing = _SPECS.get(code)
        if existing is not None and existing != spec:
            raise ValueError(f"error code {code!r} is already registered differently")
        _SPECS[code] = spec


def spec_for(code: str) -> ErrorSpec:
    return _SPECS.get(code, _FALLBACK)


def registered_codes() -> dict[str, ErrorSpec]:
    return dict(_SPECS)


def status_for(error: DomainError) -> int:
    return spec_for(error.code).status


def message_for(error: DomainError) -> str:
    """The sentence a page shows for `error`."""
    spec = spec_for(error.code)
    if spec is _FALLBACK:
        return _FALLBACK.render({"code": error.code})
    return spec.render(error.params)


def problem(
    code: str,
    *,
    status: int | None = None,
    title: str | None = None,
    detail: str | None = None,
    errors: Mapping[str, list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An RFC 9457 problem document for `code` (`type`, `title`, `status`, `detail`, `code`,
    field `errors` when there are any, and extension members)."""
    spec = spec_for(code)
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code.replace(".", "/"),
        "title": title or spec.title,
        "status": status or spec.status,
        "detail": detail if detail is not None else spec.render(extra),
        "code": code,
    }
    if errors:
        body["errors"] = {field: list(reasons) for field, reasons in errors.items()}
    body.update({k: v for k, v in extra.items() if k not in body})
    return body


def _member(value: Any) -> Any:
    """A param as a JSON member: a moment in RFC 3339 UTC with `Z`, like every API time."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


_RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "code", "errors"})


def problem_for(error: DomainError) -> dict[str, Any]:
    """The problem document for a domain error: the page's sentence as `detail`, and its
    params (who decided, when, the candidates...) as extension members. Field errors come
    from an `InvalidInput`'s `errors`, or from the `field` a refusal names."""
    detail = message_for(error)
    params = dict(error.params)
    field_errors = params.pop("errors", None) if error.code == "invalid_input" else None
    field = params.pop("field", None)
    if field:
        field_errors = {field: [detail]}
    # A param named like a member of the document itself (`detail`, `status` ...) has
    # already served the sentence; it must not collide with the member.
    members = {
        name: _member(value) for name, value in params.items() if name not in _RESERVED_MEMBERS
    }
    return problem(error.code, detail=detail, errors=field_errors, **members)
