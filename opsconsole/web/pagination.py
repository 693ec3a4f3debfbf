"""Keyset pages: "the rows after this one" on a (timestamp, id) or (id) order, never OFFSET,
so a deep page costs what the first does and rows arriving meanwhile shift nothing.

A cursor names the row a page ends on. On a timestamp key it is opaque (URL-safe base64 of
the timestamp and the id); on the id alone it is the id, as the audit page's links carry it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import QueryDict

M = TypeVar("M", bound=Model)

ID = "id"


@dataclass
class Page(Generic[M]):
    rows: list[M]
    next_cursor: str | None
    prev_cursor: str | None
    # A cursor that could not be read: the first page is shown, and the page can say so.
    bad_cursor: bool = False


def encode_cursor(row: Model, key: str = ID) -> str:
    if key == ID:
        return str(row.pk)
    at: datetime = getattr(row, key)
    raw = f"{at.isoformat()}|{row.pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, key: str = ID) -> tuple[datetime | None, int] | None:
    """(timestamp, id) from a cursor (timestamp None on the id key); None when unreadable."""
    try:
        if key == ID:
            return None, int(cursor)
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        stamp, pk = text.rsplit("|", 1)
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            return None
        return at, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def _order(key: str, descending: bool) -> tuple[str, ...]:
    sign = "-" if descending else ""
    return (f"{sign}{ID}",) if key == ID else (f"{sign}{key}", f"{sign}{ID}")


def _beyond(key: str, position: tuple[datetime | None, int], descending: bool) -> Q:
    """The rows that come after `position` in the (key, id) order."""
    at, pk = position
    strict, loose = ("lt", "lte") if descending else ("gt", "gte")
    past_id = Q(**{f"{ID}__{strict}": pk})
    if key == ID:
        return past_id
    # The bound on the key alone lets the index range scan start at the cursor.
    return Q(**{f"{key}__{loose}": at}) & (Q(**{f"{key}__{strict}": at}) | past_id)


def keyset_page(
    qs: QuerySet[M],
    *,
    key: str = ID,
    newest_first: bool = True,
    after: str | None = None,
    before: str | None = None,
    size: int = 50,
) -> Page[M]:
    """One page of `qs` ordered by (`key`, id), newest first unless told otherwise: the
    rows after the `after` cursor, else the rows just before the `before` cursor, else the
    first page. `key` is a timestamp column, or "id" alone."""
    cursor = decode_cursor(after, key) if after else None
    back_cursor = decode_cursor(before, key) if (before and not after) else None
    bad = bool((after and cursor is None) or (before and not after and back_cursor is None))
    if back_cursor is not None:
        rows = list(
            qs.filter(_beyond(key, back_cursor, not newest_first)).order_by(
                *_order(key, not newest_first)
            )[: size + 1]
        )
        has_more_before = len(rows) > size
        rows = list(reversed(rows[:size]))
        return Page(
            rows=rows,
            next_cursor=encode_cursor(rows[-1], key) if rows else None,
            prev_cursor=encode_cursor(rows[0], key) if rows and has_more_before else None,
        )
    if cursor is not None:
        qs = qs.filter(_beyond(key, cursor, newest_first))
    rows = list(qs.order_by(*_order(key, newest_first))[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return Page(
        rows=rows,
        next_cursor=encode_cursor(rows[-1], key) if rows and has_more else None,
        prev_cursor=encode_cursor(rows[0], key) if rows and cursor is not None else None,
        bad_cursor=bad,
    )


def each_row(
    qs: QuerySet[M], *, key: str = ID, newest_first: bool = True, chunk: int = 1000
) -> Iterator[M]:
    """Every row of `qs` in page order, read a keyset page at a time (for exports: memory
    stays flat and no database cursor is held open while a slow client downloads)."""
    cursor: str | None = None
    while True:
        page = keyset_page(qs, key=key, newest_first=newest_first, after=cursor, size=chunk)
        yield from page.rows
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def keep_params(params: QueryDict, **changes: str | None) -> str:
    """`params` (a QueryDict) urlencoded with `changes` applied (None removes a key): the
    link to another page keeps every filter."""
    query = params.copy()
    for name, value in changes.items():
        query.pop(name, None)
        if value is not None:
            query[name] = value
    return query.urlencode()
