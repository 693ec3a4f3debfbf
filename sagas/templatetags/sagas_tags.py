"""Template helpers for saga pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template

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
