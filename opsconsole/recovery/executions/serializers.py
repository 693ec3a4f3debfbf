"""The API's view of execution recovery: what can be done to a saga, and what was done."""

from __future__ import annotations

from rest_framework import serializers

from .bulk import FILTER_KEYS
from .models import ActionKind, ActionState, SagaAction


class SagaActionSerializer(serializers.ModelSerializer):
    saga_id = serializers.IntegerField(read_only=True)
    new_execution_name = serializers.SerializerMethodField(
        help_text="A restart's new execution name."
    )

    class Meta:
        model = SagaAction
        fields = [
            "id",
            "saga_id",
            "action",
            "seq",
            "state",
            "execution_arn",
            "new_execution_arn",
            "new_execution_name",
            "actor",
            "ticket",
            "reason",
            "error",
            "outcome_status",
            "outcome_step",
            "job_id",
            "created_at",
            "sent_at",
            "finished_at",
        ]
        extra_kwargs = {
            "state": {
                "help_text": "sending, verifying (sent; waiting for the saga to end), "
                "recovered, failed_again (outcome_step says where), done (stop, resolve), "
                "failed (AWS refused: error says why)."
            },
            "seq": {"help_text": "The n-th action of this kind on the saga (redrive #n)."},
        }

    def get_new_execution_name(self, obj: SagaAction) -> str:
        return obj.new_execution_arn.rsplit(":", 1)[-1] if obj.new_execution_arn else ""


class OptionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ActionKind.choices)
    allowed = serializers.BooleanField()
    why_not = serializers.CharField(help_text="Why the action does not fit the saga now.")


class RunSerializer(serializers.Serializer):
    execution_arn = serializers.CharField()
    name = serializers.CharField()
    saga_id = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    current = serializers.BooleanField(help_text="The saga this answer is about.")
    how = serializers.CharField(help_text="original, or which run it restarts.")


class SagaRecoverySerializer(serializers.Serializer):
    saga_id = serializers.IntegerField()
    options = OptionSerializer(many=True, help_text="Judged from the read model (no AWS call).")
    actions = SagaActionSerializer(many=True, help_text="Newest first.")
    runs = RunSerializer(many=True, help_text="The saga's runs, first to latest (restarts).")


class ActionInput(serializers.Serializer):
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        default="",
        help_text="Required to stop (the stop cause) and to resolve (the note).",
    )
    input = serializers.JSONField(
        required=False,
        help_text="Restart only: the corrected input document (at most 256 KB); absent: "
        "the same input.",
    )


class BulkInput(serializers.Serializer):
    kind = serializers.CharField()
    action = serializers.CharField(help_text="redrive or restart.")
    filters = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        default=dict,
        help_text=f"The saga list's filters: {', '.join(FILTER_KEYS)}.",
    )
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    rate_per_second = serializers.FloatField(
        required=False, min_value=0.1, max_value=500, default=25.0
    )


class ReasonSerializer(serializers.Serializer):
    why = serializers.CharField()
    count = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField(), help_text="Business keys.")


class DryRunSerializer(serializers.Serializer):
    kind = serializers.CharField()
    action = serializers.CharField()
    filters = serializers.DictField(child=serializers.CharField())
    eligible = serializers.IntegerField()
    ineligible = serializers.IntegerField()
    reasons = ReasonSerializer(many=True)


STATES_HELP = ", ".join(s for s, _ in ActionState.choices)
