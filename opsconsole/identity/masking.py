"""Masking the sensitive fields a saga kind names (emails, phones, addresses, payment tokens).

Pure functions, no I/O. A kind's `sensitive_fields` are dotted paths ("data.customer.email");
a value is sensitive when the path of keys leading to it ENDS with one of them, wherever it
sits in the document (list positions do not count as keys). So "email" masks every key named
email, and "data.customer.email" masks `{"detail": {"data": {"customer": {"email": ...}}}}`.
Strings holding JSON (Step Functions inputs and outputs) are masked inside, too.

Who sees raw values: only admins. Viewers, operators and approvers see masked values: they
find sagas by order/account id and correlation id, and act on state, never on the PII.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .roles import ADMIN

MASK = "••••••"
ROLES_SEEING_SENSITIVE = frozenset({ADMIN})
# JSON inside strings is parsed only up to this size (execution payloads are <= 256 KB).
_MAX_EMBEDDED_JSON = 262_144


def can_see_sensitive(role: str | None) -> bool:
    """Whether `role` sees sensitive fields unmasked."""
    return role in ROLES_SEEING_SENSITIVE


def _compile(paths: Iterable[str]) -> list[tuple[str, ...]]:
    return [tuple(p for p in path.split(".") if p) for path in paths if path and path.strip(".")]


def _matches(key_path: tuple[str, ...], patterns: list[tuple[str, ...]]) -> bool:
    return any(
        len(key_path) >= len(pattern) and key_path[-len(pattern) :] == pattern
        for pattern in patterns
    )


def _walk(value: Any, key_path: tuple[str, ...], patterns: list[tuple[str, ...]]) -> Any:
    if isinstance(value, dict):
        masked: dict[Any, Any] = {}
        for key, child in value.items():
            child_path = (*key_path, str(key))
            if child is not None and _matches(child_path, patterns):
                masked[key] = MASK
            else:
                masked[key] = _walk(child, child_path, patterns)
        return masked
    if isinstance(value, list | tuple):
        return [_walk(item, key_path, patterns) for item in value]
    if isinstance(value, str) and value[:1] in "{[" and len(value) <= _MAX_EMBEDDED_JSON:
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, dict | list):
            walked = _walk(parsed, key_path, patterns)
            return value if walked == parsed else json.dumps(walked)
    return value


def mask(document: Any, sensitive_fields: Iterable[str]) -> Any:
    """A copy of `document` with every sensitive value replaced by MASK (input untouched)."""
    patterns = _compile(sensitive_fields)
    if not patterns:
        return document
    return _walk(document, (), patterns)


def mask_for_role(document: Any, sensitive_fields: Iterable[str], role: str | None) -> Any:
    """`document` as `role` may see it: raw for admins, masked for everyone else."""
    if can_see_sensitive(role):
        return document
    return mask(document, sensitive_fields)
