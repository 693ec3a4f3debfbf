"""How pages write durations, times and amounts, so the same thing reads the same way on
every page. Pure functions (`format_time` reads the configured time zone)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone


def _seconds_label(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def human_duration(delta: timedelta | float | None) -> str:
    """A measured duration as a person reads it: 850 ms, 4.2 s, 3.5 min, 2.0 h, 1.5 d
    ("" for None; a negative one, from clock skew, reads 0 ms)."""
    if delta is None:
        return ""
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    return _seconds_label(max(seconds, 0.0))


def rough_duration(seconds: float) -> str:
    """A time still to wait, to the minute: under a minute, 12 min, 3 h 05 min, 2 days.
    Deadlines are hours away, so seconds would only be noise."""
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def format_time(at: datetime | None, *, unknown: str = "an unknown time") -> str:
    """A moment in the console's time zone, with the zone named: 2026-01-02 10:00:00 UTC."""
    if at is None:
        return unknown
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S %Z")


def format_amount(value: Decimal | None, *, whole_if_round: bool = False) -> str:
    """1,234.50; with `whole_if_round`, a round amount drops its cents (a threshold: 5,000)."""
    if value is None:
        return "?"
    if whole_if_round and value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.2f}"
