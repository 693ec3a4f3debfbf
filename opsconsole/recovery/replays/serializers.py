"""The API's view of archives and replays."""

from __future__ import annotations

from rest_framework import serializers

from .models import ReplayRecord


class ArchiveSerializer(serializers.Serializer):
    name = serializers.CharField(source="config.name")
    archive = serializers.CharField(source="config.archive")
    bus = serializers.CharField(source="config.bus")
    state = serializers.CharField(source="live.state", allow_null=True, default=None)
    event_count = serializers.IntegerField(source="live.event_count", allow_null=True, default=None)
    size_bytes = serializers.IntegerField(source="live.size_bytes", allow_null=True, default=None)
    retention_days = serializers.IntegerField(
        source="live.retention_days", allow_null=True, default=None, help_text="null: indefinite."
    )
    read_at = serializers.DateTimeField(
        source="live.read_at", allow_null=True, default=None, help_text="When AWS last answered."
    )
    error = serializers.CharField(help_text="Why the numbers may be old.")


class ReplayInput(serializers.Serializer):
    archive = serializers.CharField(help_text="The registry's archive name.")
    start = serializers.DateTimeField()
    end = serializers.DateTimeField(help_text="Not in the future; the window is [start, end).")
    rule_arns = serializers.ListField(
        child=serializers.CharField(), required=False, default=list, help_text="Empty: all."
    )
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ImpactSerializer(serializers.Serializer):
    archive = serializers.CharField()
    start = serializers.CharField()
    end = serializers.CharField()
    rules = serializers.ListField(child=serializers.DictField())
    sagas_started_in_window = serializers.DictField(child=serializers.IntegerField())
    warnings = serializers.ListField(child=serializers.CharField())


class ReplaySerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)
    sagas_started = serializers.ListField(
        child=serializers.IntegerField(),
        read_only=True,
        help_text="Saga ids of the window's business keys started again after the replay began.",
    )

    class Meta:
        model = ReplayRecord
        fields = [
            "id",
            "name",
            "archive",
            "bus",
            "window_start",
            "window_end",
            "rule_arns",
            "state",
            "state_reason",
            "last_replayed",
            "progress_percent",
            "actor",
            "ticket",
            "reason",
            "preview",
            "created_at",
            "finished_at",
            "sagas_started",
        ]
