"""The request type every page view takes, and the small request helpers pages share."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """An `HttpRequest` as django-htmx's middleware leaves it (an annotation, never built):
    views type their request with it so `request.htmx` is checked like any attribute."""

    htmx: HtmxDetails


def htmx_target(request: HtmxHttpRequest) -> str | None:
    """The id of the element an htmx request will swap, or None for a plain request
    (a stray HX-Target header without HX-Request does not turn a page into a fragment)."""
    return request.htmx.target if request.htmx else None


def local_url(request: HttpRequest, value: str) -> str:
    """`value` when it is safe to redirect to (this host, and https when the request is),
    else "": a `next` parameter must never send a person to another site."""
    if value and url_has_allowed_host_and_scheme(
        value, {request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


# The largest id a BIGINT primary key holds.
MAX_ROW_ID = 2**63 - 1


def row_id(text: str | None) -> int | None:
    """A database id a person or a client typed: ASCII digits within a BIGINT, else None.
    (`"²".isdigit()` is true, yet int() refuses it; thirty digits overflow the database.)"""
    if not text or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ROW_ID else None
