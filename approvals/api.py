"""REST API v1: approval requests and decisions (the task token is never part of it)."""

from __future__ import annotations

from typing import Any

from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opsconsole.errors import DomainError
from opsconsole.identity.permissions import IsViewer
from opsconsole.identity.roles import actor_for
from opsconsole.registry import get_registry
from opsconsole.web.api import problem_response
from opsconsole.web.problems import problem_for

from . import actions
from .actions.errors import facts
from .models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    WAITING_STATUSES,
    ApprovalDecision,
    ApprovalRequest,
    ApprovalStatus,
)

STATUS_ALIASES = {
    "open": OPEN_STATUSES,
    "waiting": WAITING_STATUSES,
    "decided": FINAL_STATUSES,
}


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalDecision
        fields = ["decided_by", "decision", "reason", "comment", "ticket", "at"]


class ApprovalRequestSerializer(serializers.ModelSerializer):
    # Explicit fields only: the token (encrypted or not) and its hash never leave the server.
    decisions = DecisionSerializer(many=True, read_only=True)
    saga_id = serializers.IntegerField(read_only=True, allow_null=True)
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )
    threshold = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, allow_null=True
    )
    pending_send = serializers.BooleanField(read_only=True)
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
            "requested_at",
            "deadline",
            "first_approved_by",
            "first_approved_at",
            "decision",
            "decided_by",
            "decided_at",
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
        read_only_fields = fields

    def get_claimed_by(self, obj: ApprovalRequest) -> str:
        return obj.claim_holder()


class DecisionInput(serializers.Serializer):
    """Shape only: the rules (a reason for a rejection, lengths, who may decide) are the
    action's, so a refused decision is audited once, the same way as from the page."""

    decision = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="approve or reject"
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    comment = serializers.CharField(required=False, allow_blank=True, default="")
    ticket = serializers.CharField(required=False, allow_blank=True, default="")


class NewestFirst(CursorPagination):
    ordering = ("-id",)
    page_size = 50


class ApprovalList(generics.ListAPIView):
    """GET /api/v1/approvals/?status=&kind="""

    serializer_class = ApprovalRequestSerializer
    permission_classes = [IsViewer]
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        qs = ApprovalRequest.objects.prefetch_related("decisions")
        wanted = self.request.query_params.get("status", "").strip()
        if wanted:
            if wanted in STATUS_ALIASES:
                qs = qs.filter(status__in=STATUS_ALIASES[wanted])
            elif wanted in ApprovalStatus.values:
                qs = qs.filter(status=wanted)
            else:
                known = ", ".join([*ApprovalStatus.values, *STATUS_ALIASES])
                raise ValidationError(
                    {"status": [f"Unknown status {wanted!r}; use one of {known}."]}
                )
        kind = self.request.query_params.get("kind", "").strip()
        if kind:
            kinds = get_registry().kinds
            if kind not in kinds:
                raise ValidationError(
                    {"kind": [f"Unknown kind {kind!r}; use one of {', '.join(kinds)}."]}
                )
            qs = qs.filter(kind=kind)
        return qs


class ApprovalDetail(generics.RetrieveAPIView):
    """GET /api/v1/approvals/{id}/"""

    serializer_class = ApprovalRequestSerializer
    permission_classes = [IsViewer]
    queryset = ApprovalRequest.objects.prefetch_related("decisions")


class ApprovalDecide(APIView):
    """POST /api/v1/approvals/{id}/decision/ (Idempotency-Key honoured)."""

    # Any signed-in caller: the action refuses (and audits) one who may not decide.
    permission_classes = [IsAuthenticated]

    def post(self, request: Request, pk: int) -> Response:
        payload = DecisionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            result = actions.decide(
                pk,
                actor=actor_for(request),
                decision=data["decision"],
                reason=data["reason"],
                comment=data["comment"],
                ticket=data["ticket"],
                idempotency_key=request.headers.get("Idempotency-Key", ""),
                identities=actions.identities_for(request),
            )
        except DomainError as exc:
            return _refused(exc)
        code = {
            "pending_send": status.HTTP_202_ACCEPTED,
            "expired": status.HTTP_409_CONFLICT,
            "closed": status.HTTP_409_CONFLICT,
        }.get(result.outcome, status.HTTP_200_OK)
        body = {
            "outcome": result.outcome,
            "detail": result.message,
            "approval": ApprovalRequestSerializer(result.request).data,
        }
        response = Response(body, status=code)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def _refused(exc: DomainError) -> Response:
    """Problem details with the page's sentence, and the facts (who decided, when...) as
    extension members; an invalid field is named under `errors` as for any invalid input."""
    extra = {name: value for name, value in facts(exc).items() if name != "code"}
    body = problem_for(exc, **extra)
    field = exc.params.get("field")
    if field:
        body["errors"] = {field: [body["detail"]]}
    return problem_response(body)
