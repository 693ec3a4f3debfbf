"""The approvals API's input and output serializers. The task token (encrypted or not) and
its hash are in no serializer: every field is listed explicitly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from opsconsole.registry import get_registry
from opsconsole.web.http import row_id
from opsconsole.web.serializers import (
    OutputModelSerializer,
    OutputSerializer,
    ProblemSerializer,
    StrictQuerySerializer,
    UtcDateTimeField,
)

from .models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    WAITING_STATUSES,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
    Decision,
)

STATUS_ALIASES = {
    "open": OPEN_STATUSES,
    "waiting": WAITING_STATUSES,
    "decided": FINAL_STATUSES,
}
STATUS_FILTERS = [*ApprovalStatus.values, *STATUS_ALIASES]
OUTCOMES = ["approved", "rejected", "first_approval", "pending_send", "expired", "closed"]


def _absolute(context: Mapping[str, Any], path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


# -- input ---------------------------------------------------------------------------------


class ApprovalQuerySerializer(StrictQuerySerializer):
    """GET /api/v1/approvals/ filters; an unknown parameter or value is a 400, never
    silently ignored (a misspelt filter would otherwise answer with every request)."""

    status = serializers.ChoiceField(
        required=False,
        choices=STATUS_FILTERS,
        help_text="A status, or `open` (pending, 1 of 2), `waiting` (open or sending), "
        "`decided` (approved, rejected, expired, closed).",
        error_messages={
            "invalid_choice": "Unknown status {input!r}; use one of "
            + ", ".join(STATUS_FILTERS)
            + "."
        },
    )
    kind = serializers.CharField(required=False, help_text="A saga kind of the registry.")
    business_key = serializers.CharField(required=False, max_length=200)
    saga = serializers.CharField(
        required=False,
        max_length=512,
        help_text="The saga's console id or its execution ARN.",
    )

    def validate_kind(self, value: str) -> str:
        kinds = get_registry().kinds
        if value not in kinds:
            raise serializers.ValidationError(
                f"Unknown kind {value!r}; use one of {', '.join(kinds)}."
            )
        return value

    def validate_saga(self, value: str) -> str:
        value = value.strip()
        if not (row_id(value) is not None or value.startswith("arn:")):
            raise serializers.ValidationError(
                f"Unknown saga reference {value!r}; use the console id or the execution ARN."
            )
        return value


class DecisionInput(serializers.Serializer):
    """Shape only: the rules (a reason to reject, lengths, who may decide) are the action's,
    so a refused decision is audited once, the same way as from the page."""

    decision = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="`approve` or `reject`."
    )
    reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Required to reject."
    )
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    ticket = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="At most 64 characters."
    )


# -- output --------------------------------------------------------------------------------


# From asked to decided: the fields both views of a request show, in this order.
_DECISION_TIMELINE = [
    "requested_at",
    "deadline",
    "first_approved_by",
    "first_approved_at",
    "decision",
    "decided_by",
    "decided_at",
]


class DecisionSerializer(OutputModelSerializer):
    class Meta:
        model = ApprovalDecision
        fields = ["decided_by", "decision", "reason", "comment", "ticket", "at"]


class ApprovalRequestSerializer(OutputModelSerializer):
    decisions = DecisionSerializer(many=True)
    saga_id = serializers.IntegerField(allow_null=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    threshold = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    pending_send = serializers.BooleanField(
        help_text="The decision is stored and AWS has not accepted it yet (being retried)."
    )
    claimed_by = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "kind",
            "business_key",
            "summary",
            "amount",
            "currency",
            "threshold",
            "status",
            "status_reason",
            "execution_arn",
            "saga_id",
            "correlation_id",
            "requested_by",
            "requested_by_type",
            *_DECISION_TIMELINE,
            "reason",
            "comment",
            "ticket",
            "pending_send",
            "send_error",
            "sent_at",
            "claimed_by",
            "claimed_until",
            "decisions",
        ]

    def get_claimed_by(self, obj: ApprovalRequest) -> str:
        """Who holds a live claim ('' when nobody does)."""
        return obj.claim_holder()


class DecisionResultSerializer(OutputSerializer):
    outcome = serializers.ChoiceField(choices=OUTCOMES)
    detail = serializers.CharField(source="message")
    approval = ApprovalRequestSerializer(source="request")


class DecisionConflictProblemSerializer(ProblemSerializer):
    """409 of a decision: members present according to `code`."""

    approval_status = serializers.ChoiceField(
        choices=ApprovalStatus.choices, required=False, help_text="`already_decided`."
    )
    decided_by = serializers.CharField(required=False, help_text="`already_decided`.")
    decided_at = UtcDateTimeField(allow_null=True, required=False, help_text="`already_decided`.")
    outcome = serializers.ChoiceField(
        choices=OUTCOMES, required=False, help_text="`approval.expired`, `approval.closed`."
    )
    approval = ApprovalRequestSerializer(
        required=False, help_text="`approval.expired`, `approval.closed`."
    )


class ApprovalLinksSerializer(OutputSerializer):
    self = serializers.URLField()
    page = serializers.URLField(help_text="The request's page in the console.")


class SagaApprovalSerializer(OutputModelSerializer):
    """An approval request as the saga detail lists it: where it stands and who decided
    (both approvers of a four-eyes decision, in order)."""

    status_label = serializers.CharField(source="get_status_display")
    approvers = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()

    class Meta:
        model = ApprovalRequest
        fields = [
            "id",
            "status",
            "status_label",
            "summary",
            *_DECISION_TIMELINE,
            "approvers",
            "links",
        ]

    def get_approvers(self, obj: ApprovalRequest) -> list[str]:
        """Everyone whose approval counted, first to last."""
        return [d.decided_by for d in obj.decisions.all() if d.decision == Decision.APPROVE]

    @extend_schema_field(ApprovalLinksSerializer)
    def get_links(self, obj: ApprovalRequest) -> dict[str, str]:
        return {
            "self": _absolute(self.context, reverse("api-approval", kwargs={"pk": obj.pk})),
            "page": _absolute(self.context, reverse("approvals:detail", kwargs={"pk": obj.pk})),
        }
