"""Time-window filters (`since`/`until`) as every list, export and API endpoint reads them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

# What a datetime-local input sends, with or without seconds, and what people type.
WINDOW_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


def check_window(
    since: datetime | None,
    until: datetime | None,
    *,
    field: str | None = None,
    message: str = "'From' is after 'Until'.",
) -> None:
    """Raise Django's ValidationError when the window ends before it starts (an open end
    is fine). With `field`, the error belongs to that field, which both a Django form's
    `clean()` and a DRF serializer's `validate()` report under the field's name."""
    if since is not None and until is not None and since > until:
        raise ValidationError({field: message} if field else message, code="window")


def window_field(label: str) -> forms.DateTimeField:
    """An optional `since`/`until` form field, shown as a date-and-time picker."""
    return forms.DateTimeField(
        required=False,
        label=label,
        input_formats=WINDOW_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class WindowForm(forms.Form):
    """A filter form with `since` and `until` fields, refused when they are the wrong way
    round; subclasses say where the error shows and how it reads."""

    window_error_field: str | None = None
    window_message = "'From' is after 'Until'."

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        check_window(
            data.get("since"),
            data.get("until"),
            field=self.window_error_field,
            message=self.window_message,
        )
        return data
