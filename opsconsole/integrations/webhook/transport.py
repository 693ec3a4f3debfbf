"""POST a signed (or plain) JSON document to a URL, and classify the answer."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC

import requests

from ..destinations import DestinationRefused, check_url, guarded_session
from ..transports import Sent, TransportError, excerpt

# A receiver asking us to wait longer than this is retried on the normal schedule instead.
MAX_RETRY_AFTER = 6 * 3600.0
USER_AGENT = "opsconsole-webhooks/1"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class WebhookTransport:
    def __init__(self, timeout: float, session: requests.Session | None = None) -> None:
        self.timeout = timeout
        self.session = session or guarded_session()

    def notify(self, url: str, body: bytes, headers: dict[str, str]) -> Sent:
        """One POST; returns Sent on 2xx, raises TransportError otherwise."""
        try:
            check_url(url)
        except DestinationRefused as exc:
            raise TransportError(str(exc), permanent=True) from None
        try:
            response = self.session.post(
                url,
                data=body,
                headers={
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                    **headers,
                },
                timeout=self.timeout,
                # A redirect could lead anywhere, including the internal network.
                allow_redirects=False,
            )
        except requests.Timeout:
            raise TransportError(f"no answer within {self.timeout:g}s") from None
        except DestinationRefused as exc:  # where the connection landed, checked again
            raise TransportError(str(exc), permanent=True) from None
        except requests.RequestException as exc:
            raise TransportError(f"{type(exc).__name__}: {excerpt(str(exc))}") from None
        text = excerpt(response.text or "")
        code = response.status_code
        if 200 <= code < 300:
            return Sent(status_code=code, response_excerpt=text)
        if code == 410:
            raise TransportError(
                "410 Gone: the receiver unsubscribed",
                permanent=True,
                gone=True,
                status_code=code,
                response_excerpt=text,
            )
        if code == 429:
            raise TransportError(
                "429 Too Many Requests",
                status_code=code,
                response_excerpt=text,
                retry_after=retry_after_seconds(response.headers.get("retry-after")),
            )
        raise TransportError(f"HTTP {code}", status_code=code, response_excerpt=text)
