"""The monitoring API's serializers: every member of every answer, explicitly."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from opsconsole.web.serializers import (
    OutputModelSerializer,
    OutputSerializer,
    StrictQuerySerializer,
    UtcDateTimeField,
)

from .models import Alert, AlertState, Silence, Transition


class AlertQuerySerializer(StrictQuerySerializer):
    state = serializers.ChoiceField(
        choices=AlertState.choices, required=False, help_text="Only alerts in this state."
    )
    rule = serializers.CharField(required=False, help_text="Only alerts of this rule.")


class AlertSerializer(OutputModelSerializer):
    labels = serializers.DictField(child=serializers.CharField(), help_text="The series' labels.")
    url = serializers.SerializerMethodField(help_text="The alert's page in the console.")
    link = serializers.CharField(
        help_text="The page of what the alert is about (DLQ, saga list ...), '' if none."
    )

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "labels",
            "severity",
            "state",
            "state_since",
            "value",
            "error",
            "evaluated_at",
            "fired_at",
            "acknowledged_by",
            "acknowledged_at",
            "ack_note",
            "link",
            "url",
        ]

    def get_url(self, alert: Alert) -> str:
        path = reverse("monitoring:alert", args=[alert.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class SamplePointSerializer(OutputSerializer):
    at = serializers.CharField(help_text="RFC 3339 time of the sample.")
    value = serializers.FloatField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        at, value = instance
        return {"at": str(at).replace("+00:00", "Z"), "value": value}


class TransitionSerializer(OutputModelSerializer):
    samples = SamplePointSerializer(
        many=True, help_text="The window's samples the decision was made on, oldest first."
    )

    class Meta:
        model = Transition
        fields = [
            "id",
            "from_state",
            "to_state",
            "repeat",
            "value",
            "at",
            "error",
            "samples",
            "outcome",
            "event_id",
            "group_key",
        ]


class AcknowledgeInput(serializers.Serializer):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, default="", help_text="What you do."
    )


class SilenceSerializer(OutputModelSerializer):
    matchers = serializers.DictField(
        child=serializers.CharField(), help_text="Label -> value; all must match."
    )
    state = serializers.SerializerMethodField(help_text="active, pending or expired")

    class Meta:
        model = Silence
        fields = [
            "id",
            "matchers",
            "starts_at",
            "ends_at",
            "created_by",
            "created_at",
            "reason",
            "expired_by",
            "expired_at",
            "state",
        ]

    def get_state(self, silence: Silence) -> str:
        from .actions import silence_state

        return silence_state(silence)


class SilenceInput(serializers.Serializer):
    matchers = serializers.DictField(
        child=serializers.CharField(), help_text="Label -> value (alertname is the rule)."
    )
    reason = serializers.CharField(max_length=2000, help_text="Why the alerts are muted.")
    ends_at = UtcDateTimeField(required=False, help_text="Until when (RFC 3339).")
    duration_minutes = serializers.IntegerField(
        required=False, min_value=1, max_value=30 * 24 * 60, help_text="Or for how long."
    )
    starts_at = UtcDateTimeField(required=False, help_text="From when (default: now).")
