"""REST API v1: execution recovery — what can be done to a saga, redrive / restart / stop /
resolve it, and bulk dry runs and jobs from a saga filter."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsViewer
from opsconsole.identity.roles import actor_for
from opsconsole.recovery.job_serializers import JobSerializer
from opsconsole.web.openapi import problem_response

from . import actions, bulk
from .models import ActionKind, SagaAction
from .serializers import (
    ActionInput,
    BulkInput,
    DryRunSerializer,
    SagaActionSerializer,
    SagaRecoverySerializer,
)

IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="A retry with the same key gets the first answer; nothing is done twice.",
)


class SagaRecovery(generics.GenericAPIView):
    """What can be done to a saga now (from the read model), what was done, and its runs."""

    permission_classes = [IsViewer]
    serializer_class = SagaRecoverySerializer

    def get(self, request: Request, saga_id: int) -> Response:
        saga = actions.get_saga(saga_id)
        verdicts = actions.panel_verdicts(saga)
        body = {
            "saga_id": saga.pk,
            "options": [
                {"action": a.value, "allowed": v.allowed, "why_not": v.why}
                for a, v in verdicts.items()
            ],
            "actions": SagaAction.objects.filter(saga=saga).order_by("-created_at", "-id")[:50],
            "runs": actions.runs_of(saga),
        }
        return Response(SagaRecoverySerializer(body).data)


class SagaAct(generics.GenericAPIView):
    """Redrive, restart, stop or resolve one saga. 201 with the action (state `verifying`
    once AWS accepted it, `sending` while AWS could not be reached: it is resent); 409 when
    the action does not fit the saga or another operator's is in progress; 400 for bad
    input (a corrected input that is not JSON or above 256 KB: nothing is sent)."""

    permission_classes = [IsAuthenticated]
    serializer_class = ActionInput
    action_kind = ""

    @extend_schema(
        request=ActionInput,
        parameters=[IDEMPOTENCY],
        responses={
            201: SagaActionSerializer,
            **problem_response(
                409, "Not possible for this saga now (the reason says why), or already done."
            ),
        },
    )
    def post(self, request: Request, saga_id: int) -> Response:
        payload = ActionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        saga = actions.get_saga(saga_id)
        corrected = None
        if self.action_kind == ActionKind.RESTART and "input" in data:
            original, masked = _inputs(request, saga)
            corrected = actions.parse_corrected_input(json.dumps(data["input"]), original, masked)
        record = actions.act(
            saga.pk,
            actions.Request(
                action=self.action_kind,
                actor=actor_for(request),
                ticket=data["ticket"],
                reason=data["reason"],
                idempotency_key=request.headers.get("Idempotency-Key", ""),
                corrected=corrected,
            ),
        )
        return Response(SagaActionSerializer(record).data, status=status.HTTP_201_CREATED)


def _inputs(request: Request, saga: Any) -> tuple[str | None, Any]:
    from .views import _masked_input

    return _masked_input(request, saga)


class SagaRedrive(SagaAct):
    action_kind = ActionKind.REDRIVE


class SagaRestart(SagaAct):
    action_kind = ActionKind.RESTART


class SagaStop(SagaAct):
    action_kind = ActionKind.STOP


class SagaResolve(SagaAct):
    action_kind = ActionKind.RESOLVE


class BulkDryRun(generics.GenericAPIView):
    """What a bulk redrive or restart of a saga filter would do: eligible count, and the
    rest grouped by why not (from the read model; nothing is sent)."""

    permission_classes = [IsViewer]
    serializer_class = BulkInput

    @extend_schema(request=BulkInput, responses={200: DryRunSerializer})
    def post(self, request: Request) -> Response:
        payload = BulkInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        run = bulk.dry_run(data["kind"], data["action"], data["filters"])
        return Response(DryRunSerializer(run.summary()).data)


class BulkSubmit(generics.GenericAPIView):
    """Start a bulk redrive or restart of a saga filter as one job (no page-size cap); the
    job's progress and per-saga results are at /api/v1/jobs/{id}/. The same Idempotency-Key
    gives back the same job (200 instead of 201)."""

    permission_classes = [IsAuthenticated]
    serializer_class = BulkInput

    @extend_schema(
        request=BulkInput,
        parameters=[IDEMPOTENCY],
        responses={201: JobSerializer, 200: JobSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = BulkInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        job, created = bulk.submit(
            data["kind"],
            data["action"],
            data["filters"],
            actor=actor_for(request),
            ticket=data["ticket"],
            reason=data["reason"],
            rate_per_second=data["rate_per_second"],
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(JobSerializer(job).data, status=code)
