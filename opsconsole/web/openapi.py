"""The API's contract: the schema class (DEFAULT_SCHEMA_CLASS) that documents the problem
responses of every operation. The schema and its docs are served by `api_docs`.

Every operation documents the problem responses the one exception handler can give it, so
an endpoint cannot forget one: 401 and 403 (every endpoint needs a role), 429 (tokens are
rate limited), 404 (a path parameter, or a list's stale cursor) and 400 (query parameters or
a body). Endpoint-specific answers (a 409) are declared on the view with `extend_schema`.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse

from .problems import PROBLEM_CONTENT_TYPE
from .serializers import ProblemSerializer

_DESCRIPTIONS = {
    400: "Invalid input: `errors` names each field or parameter and why.",
    401: "Not signed in: no token, or an unknown, expired or revoked one.",
    403: "The caller's role does not allow this.",
    404: "Not found (or a list cursor that is no longer valid).",
    415: "The body's media type is not one this operation reads (send application/json).",
    429: "Too many requests for this token: wait `Retry-After` seconds.",
}


def problem_response(status: int, description: str = "") -> dict[Any, Any]:
    """An `extend_schema(responses=...)` entry: a problem+json answer with `status`."""
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(
            ProblemSerializer, description=description or _DESCRIPTIONS.get(status, "")
        )
    }


class ProblemAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus the problem responses every operation can give."""

    def _error_statuses(self) -> list[int]:
        statuses = [401, 403, 429]
        if "{" in self.path or self._is_list_view():
            statuses.append(404)
        if self.method in ("POST", "PUT", "PATCH") or self._is_list_view():
            statuses.append(400)
        if self.method in ("POST", "PUT", "PATCH"):
            statuses.append(415)  # a body without a media type the operation reads
        return sorted(statuses)

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status in self._error_statuses():
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    ProblemSerializer, str(status), [PROBLEM_CONTENT_TYPE], direction
                )
                responses[str(status)]["description"] = _DESCRIPTIONS[status]
        return dict(sorted(responses.items()))


# What each database allows an integer column (SQLite 64 bits, PostgreSQL 32 or 64): Django
# adds them as validators, so the schema would change with the database it was made on.
_DATABASE_LIMITS = {
    (-(2**63), 2**63 - 1),
    (-(2**31), 2**31 - 1),
    (0, 2**63 - 1),
    (0, 2**31 - 1),
}


def drop_database_integer_ranges(result: Any, generator: Any, request: Any, public: Any) -> Any:
    """Remove integer bounds that are only a database's column range (and the int64 format
    they imply), keeping bounds an API field sets itself."""

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            integer = kind == "integer" or (isinstance(kind, list) and "integer" in kind)
            if integer and "maximum" in node:
                bounds = (node.get("minimum", 0), node["maximum"])
                if bounds in _DATABASE_LIMITS or node["maximum"] in (2**63 - 1, 2**31 - 1):
                    node.pop("maximum", None)
                    if node.get("minimum") in (-(2**63), -(2**31)):
                        node.pop("minimum", None)
                    if node.get("format") == "int64":
                        node.pop("format", None)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(result)
    return result
