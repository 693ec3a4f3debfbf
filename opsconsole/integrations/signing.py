"""Standard Webhooks signatures: `webhook-id`, `webhook-timestamp`, `webhook-signature`.

The signature is `v1,` + base64(HMAC-SHA256(secret, "<id>.<timestamp>.<body>")), where the
secret is the base64 part of `whsec_...`. During a rotation the header carries one
signature per live secret, separated by spaces; a receiver accepts any that matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

PREFIX = "whsec_"
# A receiver refuses a timestamp further than this from its clock (replay protection).
TOLERANCE_SECONDS = 5 * 60


class InvalidSignature(Exception):
    pass


def new_secret() -> str:
    """A fresh signing secret (24 random bytes), in the `whsec_` form."""
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers(
    secrets_: Iterable[str], message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers for one attempt, signed with every secret given."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(signature(s, message_id, ts, body) for s in secrets_),
    }


def verify(secret: str, headers_: Mapping[str, str], body: bytes, now: float | None = None) -> str:
    """Check a delivery as a receiver would; return its webhook id or raise InvalidSignature."""
    lower = {k.lower(): v for k, v in headers_.items()}
    message_id = lower.get("webhook-id", "")
    stamp = lower.get("webhook-timestamp", "")
    given = lower.get("webhook-signature", "")
    if not (message_id and stamp and given):
        raise InvalidSignature("missing webhook headers")
    try:
        ts = int(stamp)
    except ValueError:
        raise InvalidSignature("bad timestamp") from None
    if abs((time.time() if now is None else now) - ts) > TOLERANCE_SECONDS:
        raise InvalidSignature("timestamp outside the tolerance")
    expected = signature(secret, message_id, ts, body)
    for candidate in given.split():
        if hmac.compare_digest(candidate, expected):
            return message_id
    raise InvalidSignature("no matching signature")
