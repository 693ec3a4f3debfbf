"""Masking of sensitive fields in payloads shown to people. Pure.

The registry names a kind's sensitive fields as dotted paths (`data.customer.email`) or bare
names (`customerEmail`); a path matches wherever it ends a document's key path, a bare name
matches that key at any depth. Task tokens are always redacted: a token answered by the
wrong hand resumes a saga.

The identity app owns who may see sensitive values (`opsconsole.identity.masking`: admins
only); `masker` combines its role-aware masking with the token redaction here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

MASK = "••••"
REDACTED_TOKEN = "[task token hidden]"  # noqa: S105 - a label, not a secret
_TOKEN_KEY = re.compile(r"task_?token$", re.IGNORECASE)


def _split(fields: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(part for part in f.split(".") if part) for f in fields if f.strip()]


def mask_document(document: Any, sensitive_fields: Sequence[str]) -> Any:
    """A copy of `document` with sensitive values replaced by a mask (structure kept)."""
    paths = _split(sensitive_fields)

    def matches(path: tuple[str, ...]) -> bool:
        return any(len(p) <= len(path) and path[-len(p) :] == p for p in paths)

    def walk(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                here = (*path, str(key))
                if _TOKEN_KEY.search(str(key)) and item not in (None, ""):
                    out[key] = REDACTED_TOKEN
                elif matches(here) and item not in (None, ""):
                    out[key] = MASK
                else:
                    out[key] = walk(item, here)
            return out
        if isinstance(value, list):
            return [walk(item, path) for item in value]
        return value

    return walk(document, ())


def scrub_tokens_in_text(text: str) -> str:
    """A JSON payload string with any task token redacted (non-JSON text is returned as is)."""
    if "oken" not in text:
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return json.dumps(mask_document(parsed, ()), separators=(",", ":"))


def pretty(document: Any) -> str:
    """Formatted JSON for a page (strings that are not JSON are shown as they are)."""
    if document is None:
        return ""
    if isinstance(document, str):
        return document
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False, default=str)


Masker = Callable[[Any], Any]


def masker(sensitive_fields: Sequence[str], request: Any = None) -> Masker:
    """The masking function for one kind's payloads as seen by `request`'s user: sensitive
    fields masked per role (the identity app decides who sees them), tokens always hidden."""
    fields = tuple(sensitive_fields)
    try:
        from opsconsole.identity.masking import mask_for_role
        from opsconsole.identity.roles import user_role
    except ImportError:  # pragma: no cover - identity ships masking; keep pages safe anyway
        return lambda doc: mask_document(doc, fields)
    role = user_role(request) if request is not None else None
    return lambda doc: mask_document(mask_for_role(doc, fields, role), ())
