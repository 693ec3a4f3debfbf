"""The one masking module: what a person or a client may see of a saga's documents.

Two rules, applied to every document shown (execution input and output, task request
parameters, history events, error causes, DynamoDB items, DLQ bodies, API responses,
exports):

- **Task tokens are always hidden**, from admins too: a token answered by the wrong hand
  resumes a saga. A token is the value of a key named `taskToken`/`task_token`, or of a key
  the registry's approval queues carry tokens under (`$.callback.token` -> `token`).
- **Sensitive fields are masked for everyone but admins.** A kind names them as dotted paths
  (`data.customer.email`) or bare names (`customerEmail`); a path matches wherever it ends
  a document's key path (list positions are not keys), a bare name matches that key at any
  depth. Because a state machine copies values under other names (ChargePayment writes the
  payment token as `ExpressionAttributeValues.:token.S`), the values found at sensitive paths
  of the saga's own input are masked too, wherever they appear, also inside free text.

Strings that hold JSON (Step Functions payloads, SQS bodies) are masked inside. Pure, but
for reading the registry's token keys and the viewer's role in `masker`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from opsconsole.registry import get_registry

MASK = "••••••"
REDACTED_TOKEN = "[task token hidden]"  # noqa: S105 - a label, not a secret
_TOKEN_KEY = re.compile(r"task_?token$", re.IGNORECASE)
# JSON inside strings is parsed only up to this size (payloads are capped at 256 KB).
_MAX_EMBEDDED_JSON = 262_144
# Shorter values ("EUR", "1") are too common to hunt for in other documents.
_MIN_VALUE_LENGTH = 4

Masker = Callable[[Any], Any]


def can_see_sensitive(role: str | None) -> bool:
    """Whether `role` sees sensitive fields unmasked (task tokens stay hidden regardless):
    admins only."""
    # Imported here: logging loads this module's filter before the apps are ready.
    from opsconsole.identity.roles import ADMIN

    return role == ADMIN


def _compile(fields: Iterable[str]) -> list[tuple[str, ...]]:
    return [tuple(p for p in f.split(".") if p) for f in fields if f and f.strip(".")]


def _embedded_json(value: str) -> Any:
    if value[:1] not in "{[" or len(value) > _MAX_EMBEDDED_JSON:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


class _Walker:
    def __init__(
        self,
        fields: Sequence[str],
        token_keys: Collection[str],
        values: Collection[str],
    ) -> None:
        self.patterns = _compile(fields)
        self.token_keys = {k.lower() for k in token_keys if k}
        # Longest first, so a value that contains another is masked whole.
        self.values = sorted(
            {v for v in values if len(v) >= _MIN_VALUE_LENGTH}, key=len, reverse=True
        )

    def sensitive(self, path: tuple[str, ...]) -> bool:
        return any(len(p) <= len(path) and path[-len(p) :] == p for p in self.patterns)

    def token_key(self, key: str) -> bool:
        return bool(_TOKEN_KEY.search(key)) or key.lower() in self.token_keys

    def walk(self, value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                here = (*path, str(key))
                if item in (None, ""):
                    out[key] = item
                elif self.token_key(str(key)):
                    out[key] = REDACTED_TOKEN
                elif self.sensitive(here):
                    out[key] = MASK
                else:
                    out[key] = self.walk(item, here)
            return out
        if isinstance(value, list | tuple):
            return [self.walk(item, path) for item in value]
        if isinstance(value, str):
            parsed = _embedded_json(value)
            if parsed is not None:
                walked = self.walk(parsed, path)
                return value if walked == parsed else json.dumps(walked)
            return self.scrub_values(value)
        if self.values and isinstance(value, int | float) and not isinstance(value, bool):
            return MASK if str(value) in self.values else value
        return value

    def scrub_values(self, text: str) -> str:
        for secret in self.values:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def mask_document(
    document: Any,
    sensitive_fields: Sequence[str] = (),
    *,
    token_keys: Collection[str] = (),
    values: Collection[str] = (),
) -> Any:
    """A copy of `document` with task tokens redacted, sensitive fields masked (structure
    kept) and every occurrence of `values` masked, also inside strings that hold JSON."""
    return _Walker(sensitive_fields, token_keys, values).walk(document, ())


def sensitive_values(documents: Iterable[Any], sensitive_fields: Sequence[str]) -> set[str]:
    """The values found at sensitive paths of `documents` (leaves of a sensitive object
    included), so they can be masked where a state machine copied them under other names."""
    walker = _Walker(sensitive_fields, (), ())
    found: set[str] = set()

    def leaves(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                leaves(item)
        elif isinstance(value, list | tuple):
            for item in value:
                leaves(item)
        elif isinstance(value, str | int | float) and not isinstance(value, bool):
            text = str(value)
            if len(text) >= _MIN_VALUE_LENGTH:
                found.add(text)

    def visit(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                here = (*path, str(key))
                if walker.sensitive(here):
                    leaves(item)
                else:
                    visit(item, here)
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item, path)
        elif isinstance(value, str):
            parsed = _embedded_json(value)
            if parsed is not None:
                visit(parsed, path)

    if walker.patterns:
        for document in documents:
            visit(document, ())
    return found


def scrub_tokens_in_text(text: str, *, token_keys: Collection[str] = ()) -> str:
    """A JSON payload string with any task token redacted (non-JSON text is returned as is);
    used before history is cached, so a token never reaches the database."""
    lowered = text.lower()
    if "token" not in lowered and not any(k.lower() in lowered for k in token_keys if k):
        return text
    parsed = _embedded_json(text.strip())
    if parsed is None:
        return text
    scrubbed = mask_document(parsed, token_keys=token_keys)
    return text if scrubbed == parsed else json.dumps(scrubbed, separators=(",", ":"))


# A token written into free text: `"taskToken": "AAAA..."`, `taskToken=AAAA...`.
_TOKEN_IN_TEXT = re.compile(r"""(?i)(["']?task_?token["']?\s*[:=]\s*["']?)([^\s"',}]{16,})""")


def redact_tokens_in_free_text(text: str) -> str:
    """`text` with any task token that follows its key redacted (log lines, error causes)."""
    return _TOKEN_IN_TEXT.sub(lambda m: m.group(1) + REDACTED_TOKEN, text)


class RedactingLogFilter(logging.Filter):
    """Log lines pass through masking too: a task token in a message (a payload logged by
    mistake, an AWS error that quotes its request) is redacted before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token" in message.lower():
            cleaned = redact_tokens_in_free_text(scrub_tokens_in_text(message))
            if cleaned != message:
                record.msg, record.args = cleaned, None
        return True


def registry_token_keys() -> tuple[str, ...]:
    """The keys the registry's approval queues carry task tokens under (`$.callback.token`
    -> "token"), so a token is hidden whatever a state machine calls it."""
    queues = get_registry().approval_queues
    return tuple(sorted({q.token_path.rsplit(".", 1)[-1] for q in queues if q.token_path}))


def masker(
    sensitive_fields: Sequence[str],
    request: Any = None,
    *,
    seeds: Iterable[Any] = (),
    role: str | None = None,
) -> Masker:
    """The masking function for one kind's documents as `request`'s user (or `role`) may see
    them: task tokens always hidden; for everyone but admins, sensitive fields masked and
    the sensitive values of `seeds` (the saga's input) masked wherever they reappear."""
    if request is not None:
        from opsconsole.identity.roles import user_role

        role = user_role(request)
    token_keys = registry_token_keys()
    if can_see_sensitive(role):
        walker = _Walker((), token_keys, ())
    else:
        fields = tuple(sensitive_fields)
        walker = _Walker(fields, token_keys, sensitive_values(seeds, fields))
    return lambda document: walker.walk(document, ())


def pretty(document: Any) -> str:
    """Formatted JSON for a page (strings that are not JSON are shown as they are)."""
    if document is None:
        return ""
    if isinstance(document, str):
        return document
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False, default=str)
