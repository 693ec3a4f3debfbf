"""REST API v1: approval requests and decisions (the task token is never part of it).

DRF generics, as in every API module (see sagas/api.py for why)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsViewer
from opsconsole.identity.roles import actor_for
from opsconsole.web.api import problem_response
from opsconsole.web.http import row_id
from opsconsole.web.problems import PROBLEM_CONTENT_TYPE, problem

from . import actions
from .models import ApprovalRequest
from .serializers import (
    STATUS_ALIASES,
    ApprovalQuerySerializer,
    ApprovalRequestSerializer,
    DecisionConflictProblemSerializer,
    DecisionInput,
    DecisionResultSerializer,
)


class NewestFirst(CursorPagination):
    ordering = ("-id",)
    page_size = 50


class ApprovalList(generics.ListAPIView):
    """Approval requests, newest first, filtered; cursor-paginated."""

    serializer_class = ApprovalRequestSerializer
    permission_classes = [IsViewer]
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        params = ApprovalQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        p = params.validated_data
        qs = ApprovalRequest.objects.prefetch_related("decisions")
        if wanted := p.get("status"):
            qs = qs.filter(status__in=STATUS_ALIASES.get(wanted, (wanted,)))
        if kind := p.get("kind"):
            qs = qs.filter(kind=kind)
        if business_key := p.get("business_key"):
            qs = qs.filter(business_key=business_key)
        if saga := p.get("saga"):
            # Requests collected before the saga was synced know it by ARN only.
            qs = qs.filter(
                Q(saga_id=row_id(saga))
                if row_id(saga) is not None
                else Q(execution_arn=saga) | Q(saga__execution_arn=saga)
            )
        return qs

    @extend_schema(parameters=[ApprovalQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class ApprovalDetail(generics.RetrieveAPIView):
    """One approval request with its decisions."""

    serializer_class = ApprovalRequestSerializer
    permission_classes = [IsViewer]
    queryset = ApprovalRequest.objects.prefetch_related("decisions")


class ApprovalDecide(generics.GenericAPIView):
    """Approve or reject a request (`Idempotency-Key` honoured: a retry replays the answer,
    with `Idempotent-Replayed: true`). 202 when the decision is stored but AWS has not
    accepted it yet; 409 when it was already decided, or the saga expired or closed."""

    # Any signed-in caller: the action refuses (and audits, once, under the same name as
    # from the page) one whose role may not decide.
    permission_classes = [IsAuthenticated]
    serializer_class = DecisionInput

    @extend_schema(
        request=DecisionInput,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="A retry with the same key replays the first answer.",
            )
        ],
        responses={
            200: DecisionResultSerializer,
            202: OpenApiResponse(
                DecisionResultSerializer,
                description="Decided; AWS has not accepted it yet (it is retried).",
            ),
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                DecisionConflictProblemSerializer,
                description=(
                    "`already_decided` (who and when), `claimed` by somebody else, or the "
                    "execution no longer waits (`approval.expired`, `approval.closed`: "
                    "`outcome` and `approval` say where the request stands)."
                ),
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = DecisionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        # A refusal (a DomainError) leaves through the API's one exception handler.
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
        code = {
            "pending_send": status.HTTP_202_ACCEPTED,
            "expired": status.HTTP_409_CONFLICT,
            "closed": status.HTTP_409_CONFLICT,
        }.get(result.outcome, status.HTTP_200_OK)
        body = DecisionResultSerializer(result, context=self.get_serializer_context()).data
        if code == status.HTTP_409_CONFLICT:
            # An error like any other (problem+json), still carrying the outcome and request.
            response = problem_response(
                problem(
                    f"approval.{result.outcome}",
                    status=code,
                    title="No longer waiting for a decision",
                    detail=result.message,
                    outcome=body["outcome"],
                    approval=body["approval"],
                )
            )
        else:
            response = Response(body, status=code)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response
