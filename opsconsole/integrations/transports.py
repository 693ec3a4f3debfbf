"""What every channel's transport shares: the error that says whether to retry."""

from __future__ import annotations

from dataclasses import dataclass


class TransportError(Exception):
    """A delivery that did not happen. `permanent`: retrying will not help (a 4xx, a
    destination refused); otherwise the outbox retries on its schedule. `retry_after`:
    seconds the receiver asked us to wait (429 Retry-After). `gone`: the receiver said
    410 (unsubscribe)."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        status_code: int | None = None,
        response_excerpt: str = "",
        retry_after: float | None = None,
        gone: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status_code = status_code
        self.response_excerpt = response_excerpt
        self.retry_after = retry_after
        self.gone = gone


@dataclass(frozen=True)
class Sent:
    """A delivery that happened: what the receiver answered."""

    status_code: int | None = None
    response_excerpt: str = ""
    reference: str = ""  # e.g. the incident number


EXCERPT = 300


def excerpt(text: str) -> str:
    return " ".join(text.split())[:EXCERPT]
