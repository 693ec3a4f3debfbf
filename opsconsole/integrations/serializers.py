"""API shapes for webhook endpoints and their deliveries (explicit output serializers)."""

from __future__ import annotations

from rest_framework import serializers

from opsconsole.events import EVENT_TYPES
from opsconsole.web.serializers import OutputModelSerializer, OutputSerializer

from .models import Delivery, DeliveryAttempt, WebhookEndpoint


class WebhookEndpointSerializer(OutputModelSerializer):
    event_types = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "owner",
            "owner_email",
            "failing_since",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]


class EndpointWithSecretSerializer(OutputSerializer):
    endpoint = WebhookEndpointSerializer()
    secret = serializers.CharField(help_text="The signing secret (whsec_...): shown only now.")


class EndpointInput(serializers.Serializer):
    url = serializers.CharField(max_length=500)
    description = serializers.CharField(
        max_length=200, required=False, default="", allow_blank=True
    )
    owner_email = serializers.EmailField(
        max_length=255, required=False, default="", allow_blank=True
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)),
        required=False,
        default=list,
        max_length=len(EVENT_TYPES),
        help_text="Event types to receive; empty: every type.",
    )


class EndpointChange(serializers.Serializer):
    url = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_TYPES)),
        required=False,
        max_length=len(EVENT_TYPES),
    )


class DeliveryAttemptSerializer(OutputModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["at", "outcome", "status_code", "duration_ms", "response_excerpt", "error"]


class DeliverySerializer(OutputModelSerializer):
    attempts_log = DeliveryAttemptSerializer(source="log", many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id",
            "message_id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "attempts_log",
        ]
