"""REST API v1: approval requests and decisions (the task token is never part of it)."""

from __future__ import annotations

from typing import Any

from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opsconsole.audit import log as audit
from opsconsole.identity.permissions import IsApprover, IsViewer
from opsconsole.registry import get_registry

from . import actions
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


class AuditedIsApprover(IsApprover):
    """IsApprover, and a refused attempt by a signed-in caller is written to the audit log."""

    message = "Only approvers and admins may decide approval requests."

    def has_permission(self, request: Any, view: Any) -> bool:
        allowed = super().has_permission(request, view)
        user = getattr(request, "user", None)
        if not allowed and user is not None and getattr(user, "is_authenticated", False):
            audit.record(
                audit.actor_for(request),
                "approval.decide",
                result="refused",
                target_type="approval",
                target_id=str(view.kwargs.get("pk", "")),
                error=self.message,
            )
        return allowed


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
    decision = serializers.ChoiceField(choices=Decision.values)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    ticket = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["decision"] == Decision.REJECT and not attrs.get("reason", "").strip():
            raise ValidationError({"reason": ["A rejection needs a reason."]})
        return attrs


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

    permission_classes = [AuditedIsApprover]

    def post(self, request: Request, pk: int) -> Response:
        payload = DecisionInput(data=request.data)
        if not payload.is_valid():
            audit.record(
                audit.actor_for(request),
                "approval.decide",
                result="refused",
                target_type="approval",
                target_id=str(pk),
                error=str(payload.errors),
            )
            return Response(
                {"detail": "The decision is not valid.", "errors": payload.errors},
                status=status.HTTP_400_BAD_REQUEST,
            )
        data = payload.validated_data
        try:
            result = actions.decide(
                pk,
                actor=audit.actor_for(request),
                decision=data["decision"],
                reason=data["reason"],
                comment=data["comment"],
                ticket=data["ticket"],
                idempotency_key=request.headers.get("Idempotency-Key", ""),
                identities=actions.identities_for(request),
            )
        except actions.ApprovalError as exc:
            body: dict[str, Any] = {"detail": str(exc), "code": exc.code}
            if isinstance(exc, actions.AlreadyDecided):
                body.update(
                    status=exc.status,
                    decided_by=exc.decided_by,
                    decided_at=exc.decided_at.isoformat() if exc.decided_at else None,
                )
            return Response(body, status=exc.http_status)
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
