"""The one CSV export: streamed, and no cell a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from opsconsole.web.csv import csv_lines, csv_response, safe_cell


@pytest.mark.parametrize(
    "value", ["=SUM(A1:A9)", "+1", "-2", "@cmd", "\tTAB", "\rCR", '=HYPERLINK("http://x")']
)
def test_it_keeps_formula_like_cells_as_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), ("", ""), ("order-1", "order-1"), (4.25, "4.25"), ("a=b", "a=b"), (0, "0")],
)
def test_it_leaves_ordinary_cells_alone(value, text):
    assert safe_cell(value) == text


def test_it_streams_a_header_then_guarded_rows():
    lines = csv_lines(["key", "note"], iter([("1", "=1+1"), ("2", 'say "hi", then go')]))
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows == [["key", "note"], ["1", "'=1+1"], ["2", 'say "hi", then go']]


def test_it_names_the_download_after_the_export_and_the_moment():
    def rows():
        yield ("1",)

    response = csv_response(
        "orders", ["key"], rows(), now=datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders-20260304-050607.csv"'
    assert b"".join(response.streaming_content).decode().splitlines() == ["key", "1"]
