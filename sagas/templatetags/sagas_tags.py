"""Template helpers for saga pages."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.timesince import timesince

from opsconsole.web.formatting import human_duration

register = template.Library()


@register.filter
def duration(value: timedelta | float | None) -> str:
    """850 ms, 4.2 s, 3.5 min, 2.0 h, 1.5 d."""
    return human_duration(value)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def when(value: datetime | None, fmt: str = "Y-m-d H:i:s") -> str:
    """A moment in the reader's zone, saying which: "2026-11-30 12:03:04 UTC"."""
    if value is None:
        return "–"
    local = timezone.localtime(value)
    zone = timezone.get_current_timezone_name()
    return f"{date_format(local, fmt)} {'UTC' if zone == 'UTC' else local.strftime('%Z')}"


@register.filter
def ago(value: datetime | None) -> str:
    """ "just now", "3 minutes ago", "2 hours ago": how a person says it."""
    if value is None:
        return "never"
    seconds = (timezone.now() - value).total_seconds()
    if seconds < 45:
        return "just now"
    return f"{timesince(value, depth=1)} ago".replace("\xa0", " ")
