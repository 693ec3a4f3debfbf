"""Masking of sensitive fields in payloads shown to people. Pure, but for reading the
registry's token keys and the viewer's role in `masker`.

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
from collections.abc import Callable, Collection, Sequence
from typing import Any

from opsconsole.identity import masking as identity_masking
from opsconsole.identity.roles import user_role
from opsconsole.registry import get_registry

MASK = identity_masking.MASK
REDACTED_TOKEN = "[task token hidden]"  # noqa: S105 - a label, not a secret
_TOKEN_KEY = re.compile(r"task_?token$", re.IGNORECASE)
# JSON inside strings (SQS message bodies, States.JsonToString) is parsed up to this size.
_MAX_EMBEDDED_JSON = 262_144


def _split(fields: Sequence[str]) -> list[tuple[str, ...]]:
    return [tuple(part for part in f.split(".") if part) for f in fields if f.strip()]


def registry_token_keys() -> tuple[str, ...]:
    """The keys the registry's approval queues carry task tokens under (`$.callback.token`
    -> "token"), so a token is hidden whatever a state machine calls it."""
    queues = get_registry().approval_queues
    return tuple(sorted({q.token_path.rsplit(".", 1)[-1] for q in queues if q.token_path}))


def mask_document(
    document: Any, sensitive_fields: Sequence[str], *, token_keys: Collection[str] = ()
) -> Any:
    """A copy of `document` with sensitive values replaced by a mask (structure kept) and
    task tokens redacted, also inside strings that hold JSON."""
    paths = _split(sensitive_fields)
    extra_keys = {k.lower() for k in token_keys if k}

    def matches(path: tuple[str, ...]) -> bool:
        return any(len(p) <= len(path) and path[-len(p) :] == p for p in paths)

    def is_token_key(key: str) -> bool:
        return bool(_TOKEN_KEY.search(key)) or key.lower() in extra_keys

    def walk(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                here = (*path, str(key))
                if is_token_key(str(key)) and item not in (None, ""):
                    out[key] = REDACTED_TOKEN
                elif matches(here) and item not in (None, ""):
                    out[key] = MASK
                else:
                    out[key] = walk(item, here)
            return out
        if isinstance(value, list):
            return [walk(item, path) for item in value]
        if isinstance(value, str) and value[:1] in "{[" and len(value) <= _MAX_EMBEDDED_JSON:
            try:
                parsed = json.loads(value)
            except ValueError:
                return value
            if isinstance(parsed, dict | list):
                walked = walk(parsed, path)
                return value if walked == parsed else json.dumps(walked)
        return value

    return walk(document, ())


def scrub_tokens_in_text(text: str, *, token_keys: Collection[str] = ()) -> str:
    """A JSON payload string with any task token redacted (non-JSON text is returned as is)."""
    lowered = text.lower()
    if "token" not in lowered and not any(k.lower() in lowered for k in token_keys if k):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if not isinstance(parsed, dict | list):
        return text
    scrubbed = mask_document(parsed, (), token_keys=token_keys)
    return text if scrubbed == parsed else json.dumps(scrubbed, separators=(",", ":"))


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
    fields masked per role (the identity app decides who sees them: admins only), task
    tokens always hidden."""
    fields = tuple(sensitive_fields)
    role = user_role(request) if request is not None else None
    token_keys = registry_token_keys()
    return lambda doc: mask_document(
        identity_masking.mask_for_role(doc, fields, role), (), token_keys=token_keys
    )
