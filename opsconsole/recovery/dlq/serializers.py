"""The API's view of DLQs and dead letters (bodies masked as for the caller's role)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import DeadLetter
from . import present


class InboxRowSerializer(serializers.Serializer):
    name = serializers.CharField(source="dlq.name")
    queue = serializers.CharField(source="dlq.queue")
    mechanism = serializers.CharField(source="dlq.mechanism")
    kind = serializers.CharField(source="dlq.kind", allow_null=True)
    sources = serializers.ListField(child=serializers.CharField())
    visible = serializers.IntegerField(allow_null=True)
    in_flight = serializers.IntegerField(allow_null=True)
    depth_read_at = serializers.DateTimeField(source="depth.read_at", allow_null=True, default=None)
    oldest_sent_at = serializers.DateTimeField(
        allow_null=True, help_text="The original enqueue time of the oldest message seen."
    )
    expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When that message leaves the DLQ by retention (counted from its original "
        "enqueue time).",
    )
    snapshots = serializers.IntegerField(help_text="Messages seen and present at the last look.")


STATES_HELP = "present (in the DLQ at the last look), gone, redriven or deleted."


class DeadLetterSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    state = serializers.CharField(read_only=True, help_text=STATES_HELP)

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "url",
            "dlq",
            "queue",
            "mechanism",
            "kind",
            "message_id",
            "state",
            "business_key",
            "correlation_id",
            "error_code",
            "error_message",
            "receive_count",
            "body_size",
            "body_format",
            "sent_at",
            "first_seen_at",
            "last_seen_at",
            "state_changed_at",
            "state_by",
            "state_reason",
            "ticket",
        ]

    def get_url(self, obj: DeadLetter) -> str:
        return f"/recovery/dlq/messages/{obj.pk}/"


class DeadLetterDetailSerializer(DeadLetterSerializer):
    body = serializers.SerializerMethodField(help_text="Masked for the caller's role.")
    message_attributes = serializers.SerializerMethodField()
    attributes = serializers.DictField(child=serializers.CharField(), read_only=True)
    envelope = serializers.SerializerMethodField()
    saga = serializers.SerializerMethodField(help_text="The saga's id, when one matches.")

    class Meta(DeadLetterSerializer.Meta):
        fields = [
            *DeadLetterSerializer.Meta.fields,
            "body",
            "message_attributes",
            "attributes",
            "envelope",
            "causation_id",
            "first_received_at",
            "saga",
        ]

    def get_body(self, obj: DeadLetter) -> str:
        return present.masked_body(obj, present.masker_for(obj, self.context.get("request")))

    def get_message_attributes(self, obj: DeadLetter) -> dict[str, str]:
        mask = present.masker_for(obj, self.context.get("request"))
        return {k: str(mask(v)) for k, v in obj.message_attributes.items()}

    def get_envelope(self, obj: DeadLetter) -> dict[str, Any]:
        mask = present.masker_for(obj, self.context.get("request"))
        return dict(mask(present.reading(obj).envelope))

    def get_saga(self, obj: DeadLetter) -> int | None:
        from .selectors import saga_of

        saga = saga_of(obj)
        return saga.pk if saga else None


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(
        help_text="Business key, correlation id, message id, error code, or `$.path=value`."
    )
    dlq = serializers.CharField(required=False, default="")
    state = serializers.RegexField(
        r"^(|present|gone|redriven|deleted)$", required=False, default="", help_text=STATES_HELP
    )


class MessagesQuerySerializer(serializers.Serializer):
    state = serializers.RegexField(
        r"^(live|gone|redriven|deleted|all)$",
        required=False,
        default="live",
        help_text="live (in the DLQ), gone, redriven, deleted or all.",
    )


class SelectionInput(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    q = serializers.CharField(required=False, default="", allow_blank=True)
    dlq = serializers.CharField(required=False, default="", allow_blank=True)
    all_matching = serializers.BooleanField(
        required=False, default=False, help_text="All present messages matching `q` (or of `dlq`)."
    )
    ticket = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)
    dry_run = serializers.BooleanField(
        required=False, default=False, help_text="Answer with the preview only; change nothing."
    )


class RedriveInput(SelectionInput):
    rate_per_second = serializers.FloatField(required=False, allow_null=True, default=None)


class EditedRedriveInput(serializers.Serializer):
    body = serializers.CharField(
        help_text="The corrected body (JSON stays JSON).", trim_whitespace=False
    )
    ticket = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=2000)


class PreviewGroupSerializer(serializers.Serializer):
    dlq = serializers.CharField()
    mechanism = serializers.CharField()
    target = serializers.CharField()
    count = serializers.IntegerField()


class PreviewSerializer(serializers.Serializer):
    action = serializers.CharField()
    total = serializers.IntegerField()
    groups = PreviewGroupSerializer(many=True)
    cannot_send = serializers.SerializerMethodField()
    stale = serializers.IntegerField(help_text="Snapshots older than 10 minutes.")
    note = serializers.CharField()

    def get_cannot_send(self, obj: Any) -> list[dict[str, Any]]:
        return [{"id": d.pk, "problem": why} for d, why in obj.problems]


class SubmittedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    job_url = serializers.CharField()
    api_url = serializers.CharField()
    created = serializers.BooleanField(help_text="False: the same Idempotency-Key was used before.")
    preview = PreviewSerializer(allow_null=True)


class LookSerializer(serializers.Serializer):
    dlq = serializers.CharField()
    seen = serializers.IntegerField()
    complete = serializers.BooleanField()
    released_at = serializers.DateTimeField()


class LookInput(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


class MoveTaskSerializer(serializers.Serializer):
    handle = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    source_arn = serializers.CharField()
    destination_arn = serializers.CharField(allow_null=True)
    moved = serializers.IntegerField()
    to_move = serializers.IntegerField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    failure_reason = serializers.CharField(allow_null=True)


class MoveTasksSerializer(serializers.Serializer):
    dlq = serializers.CharField()
    arn = serializers.CharField(allow_null=True)
    error = serializers.CharField()
    tasks = MoveTaskSerializer(many=True)


class MoveStartInput(serializers.Serializer):
    ticket = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    rate = serializers.IntegerField(required=False, allow_null=True, default=None)


class MoveCancelInput(serializers.Serializer):
    handle = serializers.CharField()


class MoveStartedSerializer(serializers.Serializer):
    handle = serializers.CharField()


class MoveCancelledSerializer(serializers.Serializer):
    moved = serializers.IntegerField()
