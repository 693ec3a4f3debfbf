"""The audit log's filters, shared by the page, the CSV export and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from opsconsole.web.filters import WindowForm, window_field

from .models import AuditEvent

# Suggestions only: apps record whatever target type fits (kind + id, by reference).
TARGET_TYPES = ["saga", "approval", "queue", "archive", "execution", "alert", "api_token", "user"]


class AuditFilterForm(WindowForm):
    who = forms.CharField(required=False, max_length=255, label="Who")
    action = forms.CharField(
        required=False, max_length=64, label="Action", help_text="e.g. auth. or saga.redrive"
    )
    target_type = forms.CharField(
        required=False,
        max_length=32,
        label="Target type",
        widget=forms.TextInput(attrs={"list": "audit-target-types"}),
    )
    target = forms.CharField(required=False, max_length=512, label="Target id")
    ticket = forms.CharField(required=False, max_length=64, label="Ticket")
    result = forms.ChoiceField(
        required=False, choices=[("", "any result"), *AuditEvent.RESULTS], label="Result"
    )
    since = window_field("From")
    until = window_field("Until")


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def apply_filters(queryset: QuerySet[AuditEvent], data: dict[str, Any]) -> QuerySet[AuditEvent]:
    """Narrow `queryset` by cleaned filter values (unknown or empty ones are ignored)."""
    if who := (data.get("who") or "").strip():
        queryset = queryset.filter(Q(actor__startswith=who) | Q(actor_sub=who))
    if action := (data.get("action") or "").strip():
        queryset = queryset.filter(action__startswith=action)
    if target_type := (data.get("target_type") or "").strip():
        queryset = queryset.filter(target_type=target_type)
    if target := (data.get("target") or "").strip():
        queryset = queryset.filter(target_id=target)
    if ticket := (data.get("ticket") or "").strip():
        queryset = queryset.filter(ticket=ticket)
    if result := data.get("result"):
        queryset = queryset.filter(result=result)
    if since := data.get("since"):
        queryset = queryset.filter(at__gte=_aware(since))
    if until := data.get("until"):
        queryset = queryset.filter(at__lte=_aware(until))
    return queryset
