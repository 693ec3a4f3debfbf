"""The API's view of recovery jobs: what was asked, how far it got, a result per item."""

from __future__ import annotations

from rest_framework import serializers

from . import jobs
from .models import Job, JobItem


class JobCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Not yet taken.")
    running = serializers.IntegerField(help_text="Being acted on now.")
    succeeded = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Not eligible when their turn came.")
    waiting = serializers.IntegerField(help_text="Acted on; the outcome is being verified.")
    cancelled = serializers.IntegerField()


class JobActorSerializer(serializers.Serializer):
    type = serializers.CharField(source="actor_type", help_text="user, token or system.")
    id = serializers.CharField(source="actor")
    role = serializers.CharField(source="actor_role")


class JobSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField(help_text="What kind of job, in words.")
    counts = JobCountsSerializer(read_only=True)
    progress_percent = serializers.IntegerField(
        read_only=True, help_text="Items acted on (verified or not), of all items."
    )
    actor = JobActorSerializer(source="*", read_only=True)

    class Meta:
        model = Job
        fields = [
            "id",
            "kind",
            "title",
            "state",
            "actor",
            "ticket",
            "reason",
            "target_type",
            "target_id",
            "preview",
            "rate_per_second",
            "counts",
            "progress_percent",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_title(self, job: Job) -> str:
        return jobs.label_for(job.kind)


class JobItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobItem
        fields = ["seq", "key", "state", "result", "error", "attempts", "updated_at"]


class JobItemQuerySerializer(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[s for s, _ in JobItem.STATES],
        required=False,
        help_text="Only items in this state.",
    )
