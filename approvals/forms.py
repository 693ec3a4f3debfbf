"""Input of the inbox: filters, decisions, bulk decisions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from opsconsole.registry import get_registry

from .models import ApprovalRequest

AMOUNT_BANDS = {
    "lt1k": ("Under 1,000", None, Decimal("1000")),
    "1k-10k": ("1,000 – 10,000", Decimal("1000"), Decimal("10000")),
    "gt10k": ("10,000 and more", Decimal("10000"), None),
}
AGES = {
    "1h": ("Waiting over 1 hour", timedelta(hours=1)),
    "24h": ("Waiting over 24 hours", timedelta(hours=24)),
    "7d": ("Waiting over 7 days", timedelta(days=7)),
}


class InboxFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False)
    amount = forms.ChoiceField(
        required=False,
        label="Amount",
        choices=[("", "Any amount")] + [(k, v[0]) for k, v in AMOUNT_BANDS.items()],
    )
    age = forms.ChoiceField(
        required=False,
        label="Age",
        choices=[("", "Any age")] + [(k, v[0]) for k, v in AGES.items()],
    )
    mine = forms.BooleanField(required=False, label="Assigned to me")
    q = forms.CharField(required=False, max_length=200, label="Business key")
    sort = forms.ChoiceField(
        required=False,
        label="Sort",
        choices=[("", "Soonest deadline"), ("amount", "Largest amount"), ("oldest", "Oldest")],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        kinds = get_registry().kinds.values()
        kind = cast(forms.ChoiceField, self.fields["kind"])
        kind.choices = [("", "All kinds")] + [(k.key, k.label) for k in kinds]

    def apply(self, qs: QuerySet[ApprovalRequest], me: str) -> QuerySet[ApprovalRequest]:
        """The queryset narrowed by the valid filters (invalid ones are shown and ignored)."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("kind"):
            qs = qs.filter(kind=data["kind"])
        band = AMOUNT_BANDS.get(data.get("amount") or "")
        if band:
            _, low, high = band
            if low is not None:
                qs = qs.filter(amount__gte=low)
            if high is not None:
                qs = qs.filter(amount__lt=high)
        age = AGES.get(data.get("age") or "")
        if age:
            qs = qs.filter(requested_at__lte=timezone.now() - age[1])
        if data.get("mine"):
            qs = qs.filter(
                Q(claimed_by=me, claimed_until__gt=timezone.now()) | Q(decisions__decided_by=me)
            ).distinct()
        if data.get("q"):
            qs = qs.filter(business_key=data["q"].strip())
        if data.get("sort") == "amount":
            qs = qs.order_by(F("amount").desc(nulls_last=True), "id")
        elif data.get("sort") == "oldest":
            qs = qs.order_by("requested_at", "id")
        return qs

    @property
    def active(self) -> bool:
        return self.is_valid() and any(self.cleaned_data.get(f) for f in self.fields if f != "sort")


class DecisionForm(forms.Form):
    """Shape only; the rules (reason for a rejection, who may decide) live in the action."""

    decision = forms.CharField(required=False, max_length=10)
    reason = forms.CharField(required=False, max_length=4000, widget=forms.Textarea)
    comment = forms.CharField(required=False, max_length=4000, widget=forms.Textarea)
    ticket = forms.CharField(required=False, max_length=200)
    idempotency_key = forms.CharField(required=False, max_length=128)


class BulkDecisionForm(DecisionForm):
    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        data = args[0] if args else kwargs.get("data")
        raw = data.getlist("ids") if data is not None and hasattr(data, "getlist") else []
        ids = cast(forms.TypedMultipleChoiceField, self.fields["ids"])
        ids.choices = [(v, v) for v in raw if str(v).isdigit()]
