"""CSV exports: streamed row by row (any size, flat memory), every cell kept inert for
spreadsheets."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from django.http import StreamingHttpResponse
from django.utils import timezone

# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """`value` as CSV text; a cell that would start a formula gets a leading quote, which
    spreadsheets show as text (negative numbers included: an export is read, not summed)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Echo:
    """A file that hands back what is written, so csv.writer yields lines to stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The header line, then one line per row with every cell through `safe_cell`."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(value) for value in row])


def csv_response(
    name: str,
    header: Sequence[str],
    rows: Iterable[Iterable[Any]],
    *,
    now: datetime | None = None,
) -> StreamingHttpResponse:
    """A download named `<name>-<YYYYmmdd-HHMMSS>.csv`; `rows` is consumed while streaming,
    so pass a generator that reads the database in chunks."""
    stamp = (now or timezone.now()).strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        csv_lines(header, rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
