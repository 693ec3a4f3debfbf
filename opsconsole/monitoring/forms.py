from __future__ import annotations

from typing import Any

from django import forms


class AcknowledgeForm(forms.Form):
    note = forms.CharField(required=False, max_length=2000, widget=forms.TextInput)


DURATIONS = [
    (30, "30 minutes"),
    (60, "1 hour"),
    (120, "2 hours"),
    (240, "4 hours"),
    (1440, "1 day"),
]


class SilenceForm(forms.Form):
    matchers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One label=value per line; every one must match (alertname is the rule).",
    )
    minutes = forms.TypedChoiceField(
        choices=DURATIONS, coerce=int, initial=60, label="For", required=True
    )
    reason = forms.CharField(max_length=2000, widget=forms.TextInput)

    def clean_matchers(self) -> dict[str, Any]:
        out = {}
        for line in self.cleaned_data["matchers"].splitlines():
            line = line.strip()
            if not line:
                continue
            if "=" not in line:
                raise forms.ValidationError(f"{line!r} is not label=value")
            name, value = (part.strip() for part in line.split("=", 1))
            if not name or not value:
                raise forms.ValidationError(f"{line!r} is not label=value")
            out[name] = value
        if not out:
            raise forms.ValidationError("at least one label=value is needed")
        return out
