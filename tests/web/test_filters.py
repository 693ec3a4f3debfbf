"""The since/until window every filter form and endpoint checks the same way."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from opsconsole.web.filters import WindowForm, check_window, window_field

EARLY = datetime(2026, 1, 1, tzinfo=UTC)
LATE = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until"), [(EARLY, LATE), (EARLY, EARLY), (None, EARLY), (LATE, None)]
)
def test_it_accepts_a_window_in_order_or_open_ended(since, until):
    check_window(since, until)


def test_it_refuses_a_window_that_ends_before_it_starts():
    with pytest.raises(ValidationError) as error:
        check_window(LATE, EARLY)
    assert error.value.messages == ["'From' is after 'Until'."]


def test_it_puts_the_refusal_on_the_named_field():
    with pytest.raises(ValidationError) as error:
        check_window(LATE, EARLY, field="until", message="must be after since")
    assert error.value.message_dict == {"until": ["must be after since"]}


class _Form(WindowForm):
    since = window_field("From")
    until = window_field("To")


class _FieldForm(_Form):
    window_error_field = "until"
    window_message = "must be after From"


def test_it_reads_the_dates_people_type_and_pickers_send():
    form = _Form({"since": "2026-01-01", "until": "2026-01-02T09:30"})
    assert form.is_valid(), form.errors
    form = _Form({"since": "2026-01-01 08:00", "until": "2026-01-02T09:30:15"})
    assert form.is_valid(), form.errors


def test_it_explains_a_reversed_window_on_the_form():
    form = _Form({"since": "2026-02-01", "until": "2026-01-01"})
    assert not form.is_valid()
    assert form.non_field_errors() == ["'From' is after 'Until'."]
    form = _FieldForm({"since": "2026-02-01", "until": "2026-01-01"})
    assert not form.is_valid()
    assert form.errors == {"until": ["must be after From"]}
    assert "until" not in form.cleaned_data
