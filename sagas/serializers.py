"""The sagas API's input and output serializers: what a caller may ask, and every member of
every answer (so the OpenAPI schema is the contract, not a guess from hand-built dicts).

Output serializers read a masking function (`mask`) and the request's `now` from their
context: masking depends on who asks, and one `now` keeps `stuck` and durations consistent
within one answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsconsole.registry import get_registry
from opsconsole.web.serializers import (
    OutputModelSerializer,
    OutputSerializer,
    ProblemSerializer,
    UtcDateTimeField,
)

from . import timeline as tl
from .api_extensions import detail_extensions
from .models import Saga, SagaStatus
from .timeline import parse_json

OUTCOMES = [
    (tl.SUCCEEDED, "succeeded"),
    (tl.RETRIED, "succeeded after retries"),
    (tl.CAUGHT, "failed, caught"),
    (tl.FAILED, "failed"),
    (tl.TIMED_OUT, "timed out"),
    (tl.ABORTED, "aborted"),
    (tl.RUNNING, "running"),
    (tl.WAITING, "waiting for callback"),
]


def _absolute(context: Mapping[str, Any], path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


def case_path(saga: Saga) -> str:
    return saga.get_absolute_url()


def _mask(context: Mapping[str, Any], value: Any) -> Any:
    mask = context.get("mask")
    return mask(value) if mask is not None else value


# -- input ---------------------------------------------------------------------------------


class SagaQuerySerializer(serializers.Serializer):
    kind = serializers.CharField(
        required=False, allow_blank=True, help_text="A saga kind of the registry (`orders`)."
    )
    status = serializers.ChoiceField(required=False, allow_blank=True, choices=SagaStatus.values)
    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="Business key, correlation id, ticket, execution name or ARN.",
    )
    step = serializers.CharField(
        required=False, allow_blank=True, max_length=80, help_text="The current step."
    )
    stuck = serializers.BooleanField(
        required=False, default=False, help_text="Only sagas past their step's SLA."
    )
    since = serializers.DateTimeField(required=False, help_text="Started at or after.")
    until = serializers.DateTimeField(required=False, help_text="Started at or before.")

    def validate_kind(self, value: str) -> str:
        if value and value not in get_registry().kinds:
            known = ", ".join(get_registry().kinds)
            raise serializers.ValidationError(f"unknown saga kind {value!r} (known: {known})")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": "must be after since"})
        return attrs


# -- output: sagas -------------------------------------------------------------------------


class SagaSerializer(OutputModelSerializer):
    """One saga of a list: the read model, no AWS call."""

    ref = serializers.CharField(help_text="`<kind>:<business key>`.")
    status_label = serializers.CharField()
    stuck = serializers.SerializerMethodField()
    duration_seconds = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Saga
        fields = [
            "id",
            "ref",
            "kind",
            "business_key",
            "status",
            "status_label",
            "business_status",
            "current_step",
            "stuck",
            "started_at",
            "stopped_at",
            "duration_seconds",
            "correlation_id",
            "ticket",
            "execution_name",
            "execution_arn",
            "last_error",
            "url",
        ]

    def get_stuck(self, saga: Saga) -> bool:
        return saga.is_stuck(self.context.get("now"))

    def get_duration_seconds(self, saga: Saga) -> float:
        return round(saga.duration(self.context.get("now")).total_seconds(), 3)

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, saga: Saga) -> str:
        """The case page."""
        return _absolute(self.context, case_path(saga))


class InitiatorSerializer(OutputSerializer):
    type = serializers.CharField(source="initiator_type")
    id = serializers.CharField(source="initiator_id")


class BusinessSerializer(OutputSerializer):
    """The business item(s) of the saga in DynamoDB, read live (or the last copy read)."""

    status = serializers.CharField(
        help_text="The business item's own status attribute, as the state machine wrote it."
    )
    items = serializers.ListField(child=serializers.DictField())
    read_at = UtcDateTimeField(allow_null=True)
    stale = serializers.BooleanField(help_text="DynamoDB could not be read: last known items.")
    error = serializers.CharField()


class SagaLinksSerializer(OutputSerializer):
    self = serializers.URLField()
    timeline = serializers.URLField()
    case = serializers.URLField(help_text="The saga's case page in the console.")


class SagaDetailSerializer(SagaSerializer):
    """One saga: the read model, its business items, what other features add (approval
    requests), and links."""

    initiator = InitiatorSerializer(source="*")
    last_cause = serializers.SerializerMethodField()
    waiting_for_callback = serializers.BooleanField(source="callback_pending")
    dynamodb = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta(SagaSerializer.Meta):
        fields = [
            *SagaSerializer.Meta.fields,
            "initiator",
            "amount",
            "currency",
            "last_cause",
            "compensation_ran",
            "waiting_for_callback",
            "dynamodb",
            "links",
        ]

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        for extension in detail_extensions():
            field = extension.field()
            field.source = f"api_extensions.{extension.name}"
            fields[extension.name] = field
        return fields

    def to_representation(self, saga: Saga) -> dict[str, Any]:
        request = self.context["request"]
        saga.api_extensions = {  # type: ignore[attr-defined]
            e.name: e.load(saga, request) for e in detail_extensions()
        }
        return super().to_representation(saga)

    def get_last_cause(self, saga: Saga) -> str:
        return _mask(self.context, saga.last_cause)

    @extend_schema_field(BusinessSerializer)
    def get_dynamodb(self, saga: Saga) -> dict[str, Any]:
        business = self.context["business"]
        return BusinessSerializer(
            {
                "status": business.status,
                "items": _mask(self.context, business.items),
                "read_at": business.fetched_at,
                "stale": bool(business.error),
                "error": business.error,
            }
        ).data

    @extend_schema_field(SagaLinksSerializer)
    def get_links(self, saga: Saga) -> dict[str, str]:
        ref = {"ref": str(saga.pk)}
        return {
            "self": _absolute(self.context, reverse("api-saga", kwargs=ref)),
            "timeline": _absolute(self.context, reverse("api-saga-timeline", kwargs=ref)),
            "case": _absolute(self.context, case_path(saga)),
        }


# -- output: timeline ----------------------------------------------------------------------


class AttemptSerializer(OutputSerializer):
    number = serializers.IntegerField()
    started_at = UtcDateTimeField(source="scheduled_at")
    ended_at = UtcDateTimeField(allow_null=True)
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    error = serializers.CharField()
    cause = serializers.SerializerMethodField()

    def get_cause(self, attempt: tl.Attempt) -> str:
        return _mask(self.context, attempt.cause)


class StepSerializer(OutputSerializer):
    """One visit of a state: when, how it ended, its attempts, its (masked) input and output."""

    index = serializers.IntegerField()
    name = serializers.CharField()
    type = serializers.CharField(source="state_type", help_text="Task, Parallel, Choice, ...")
    entered_at = UtcDateTimeField()
    exited_at = UtcDateTimeField(allow_null=True)
    duration_seconds = serializers.SerializerMethodField()
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    error = serializers.CharField()
    cause = serializers.SerializerMethodField()
    caught_to = serializers.SerializerMethodField()
    branch = serializers.SerializerMethodField()
    compensation = serializers.BooleanField(source="is_compensation")
    approval = serializers.BooleanField(source="is_approval")
    callback = serializers.BooleanField(help_text="Waits for a task token (callback).")
    deadline = UtcDateTimeField(allow_null=True)
    attempts = AttemptSerializer(many=True)
    input = serializers.SerializerMethodField()
    output = serializers.SerializerMethodField()

    def get_duration_seconds(self, visit: tl.StateVisit) -> float | None:
        spent = visit.duration(self.context.get("now"))
        return round(spent.total_seconds(), 3) if spent is not None else None

    def get_cause(self, visit: tl.StateVisit) -> str:
        return _mask(self.context, visit.cause)

    def get_caught_to(self, visit: tl.StateVisit) -> str | None:
        return visit.caught_to or None

    def get_branch(self, visit: tl.StateVisit) -> str | None:
        return visit.branch_label or None

    @extend_schema_field(OpenApiTypes.ANY)
    def get_input(self, visit: tl.StateVisit) -> Any:
        return _mask(self.context, parse_json(visit.input))

    @extend_schema_field(OpenApiTypes.ANY)
    def get_output(self, visit: tl.StateVisit) -> Any:
        return _mask(self.context, parse_json(visit.output))


class TimelineSerializer(OutputSerializer):
    """The execution's timeline (an `actions.CaseData`): every state visit and its attempts,
    from the execution history (live while running, cached once it ended)."""

    saga = serializers.IntegerField(source="saga.pk")
    ref = serializers.CharField(source="saga.ref")
    status = serializers.ChoiceField(
        source="saga.status",
        choices=SagaStatus.choices,
        help_text="The saga's status, in the same words as everywhere in the API.",
    )
    status_label = serializers.CharField(source="saga.status_label")
    summary = serializers.CharField(source="timeline.summary")
    started_at = UtcDateTimeField(source="timeline.started_at", allow_null=True)
    ended_at = UtcDateTimeField(source="timeline.ended_at", allow_null=True)
    error = serializers.SerializerMethodField(
        help_text="The error the execution ended with ('' while it runs or when it succeeded)."
    )
    execution_error = serializers.SerializerMethodField(help_text="The same as `error`.")
    cause = serializers.SerializerMethodField(help_text="The cause of `error`, masked.")
    failed_step = serializers.SerializerMethodField()
    compensation_steps_run = serializers.SerializerMethodField()
    failed_compensation_step = serializers.SerializerMethodField(
        help_text="The compensation step that itself failed (status `compensation_failed`)."
    )
    notification_steps_run = serializers.SerializerMethodField(
        help_text="Steps that only notified (an alert before a Fail state); they undo nothing."
    )
    event_count = serializers.IntegerField(source="timeline.event_count")
    steps = StepSerializer(many=True, source="timeline.visits")
    stale = serializers.SerializerMethodField()
    stale_reason = serializers.CharField(
        source="aws_error", help_text="Why the history could not be read live (then `stale`)."
    )
    as_of = UtcDateTimeField(
        source="data_as_of", allow_null=True, help_text="When the stale data was read."
    )

    def get_error(self, case: Any) -> str:
        # The history's end event; the read model's copy when no history could be read.
        return str(case.timeline.error or case.saga.last_error or "")

    def get_execution_error(self, case: Any) -> str:
        return self.get_error(case)

    def get_cause(self, case: Any) -> str:
        return _mask(self.context, case.timeline.cause or case.saga.last_cause or "")

    def get_failed_compensation_step(self, case: Any) -> str | None:
        broken = case.timeline.failed_compensation
        return broken.name if broken else (case.saga.compensation_failed_step or None)

    def get_notification_steps_run(self, case: Any) -> list[str]:
        return [v.name for v in case.timeline.notification_visits]

    def get_failed_step(self, case: Any) -> str | None:
        failure = case.timeline.failure
        return failure.name if failure else None

    def get_compensation_steps_run(self, case: Any) -> list[str]:
        return [v.name for v in case.timeline.compensation_visits]

    def get_stale(self, case: Any) -> bool:
        return bool(case.aws_error)


# -- errors --------------------------------------------------------------------------------


class SagaCandidateSerializer(OutputModelSerializer):
    class Meta:
        model = Saga
        fields = ["id", "execution_name", "execution_arn", "status", "started_at", "stopped_at"]


class AmbiguousRefProblemSerializer(ProblemSerializer):
    """409 `saga.ambiguous_ref`: the reference names several sagas, newest first."""

    candidates = SagaCandidateSerializer(many=True)
