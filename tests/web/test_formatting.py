"""How durations, times and amounts read on every page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from opsconsole.web.formatting import (
    format_amount,
    format_time,
    human_duration,
    rough_duration,
)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (None, ""),
        (timedelta(milliseconds=850), "850 ms"),
        (4.2, "4.2 s"),
        (timedelta(minutes=3, seconds=30), "3.5 min"),
        (timedelta(hours=2), "2.0 h"),
        (timedelta(days=1, hours=12), "1.5 d"),
        (timedelta(seconds=-5), "0 ms"),
    ],
)
def test_it_writes_a_measured_duration_in_its_largest_unit(delta, text):
    assert human_duration(delta) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (30, "under a minute"),
        (12 * 60 + 59, "12 min"),
        (3 * 3600 + 5 * 60, "3 h 05 min"),
        (5 * 3600, "5 h"),
        (50 * 3600, "2 days"),
    ],
)
def test_it_writes_a_time_left_to_the_minute(seconds, text):
    assert rough_duration(seconds) == text


def test_it_writes_a_moment_in_the_console_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    at = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    assert format_time(at) == "2026-01-02 10:00:00 CET"
    assert format_time(None) == "an unknown time"


@pytest.mark.parametrize(
    ("value", "whole", "text"),
    [
        (None, False, "?"),
        (Decimal("1234.5"), False, "1,234.50"),
        (Decimal("5000"), True, "5,000"),
        (Decimal("5000.10"), True, "5,000.10"),
    ],
)
def test_it_writes_amounts_with_grouping_and_cents(value, whole, text):
    assert format_amount(value, whole_if_round=whole) == text
