"""REST API v1: event archives and their replays."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsViewer
from opsconsole.identity.roles import actor_for
from opsconsole.web.openapi import problem_response

from ..executions.api import IDEMPOTENCY
from . import actions
from .models import ReplayRecord
from .serializers import ArchiveSerializer, ImpactSerializer, ReplayInput, ReplaySerializer


def _replay(record: ReplayRecord) -> dict[str, Any]:
    data = dict(ReplaySerializer(record).data)
    data["progress_percent"] = record.progress_percent()
    data["sagas_started"] = [s.pk for s in actions.sagas_started_by(record)]
    return data


class ArchiveList(generics.GenericAPIView):
    """The registry's archives: state, event count, size and retention (the last known
    numbers, with when they were read, when AWS does not answer)."""

    permission_classes = [IsViewer]
    serializer_class = ArchiveSerializer
    pagination_class = None

    @extend_schema(responses={200: ArchiveSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(ArchiveSerializer(actions.archive_rows(), many=True).data)


class ReplayPreview(generics.GenericAPIView):
    """The impact of replaying a window: rules and targets, sagas started in it, warnings;
    400 for a window in the future or outside the archive's retention."""

    permission_classes = [IsViewer]
    serializer_class = ReplayInput

    @extend_schema(
        request=ReplayInput,
        responses={200: ImpactSerializer, **problem_response(404, "No such archive.")},
    )
    def post(self, request: Request) -> Response:
        payload = ReplayInput(data=request.data)
        payload.is_valid(raise_exception=True)
        d = payload.validated_data
        impact = actions.preview(d["archive"], d["start"], d["end"], d["rule_arns"])
        return Response(ImpactSerializer(impact.as_json()).data)


class ReplayList(generics.GenericAPIView):
    """Replays started from the console (GET, newest first) or start one (POST; the same
    Idempotency-Key gives back the same replay)."""

    permission_classes = [IsAuthenticated]
    serializer_class = ReplaySerializer
    pagination_class = None

    @extend_schema(responses={200: ReplaySerializer(many=True)})
    def get(self, request: Request) -> Response:
        if not IsViewer().has_permission(request, self):
            self.permission_denied(request)
        return Response([_replay(r) for r in ReplayRecord.objects.all()[:100]])

    @extend_schema(
        request=ReplayInput,
        parameters=[IDEMPOTENCY],
        responses={201: ReplaySerializer, **problem_response(404, "No such archive.")},
    )
    def post(self, request: Request) -> Response:
        payload = ReplayInput(data=request.data)
        payload.is_valid(raise_exception=True)
        d = payload.validated_data
        record = actions.start(
            d["archive"],
            d["start"],
            d["end"],
            actor=actor_for(request),
            rule_arns=d["rule_arns"],
            ticket=d["ticket"],
            reason=d["reason"],
            idempotency_key=request.headers.get("Idempotency-Key", ""),
        )
        return Response(_replay(record), status=status.HTTP_201_CREATED)


class ReplayDetail(generics.GenericAPIView):
    """One replay with its progress (DescribeReplay) and the sagas it started."""

    permission_classes = [IsViewer]
    serializer_class = ReplaySerializer

    def get(self, request: Request, replay_id: int) -> Response:
        return Response(_replay(actions.refresh(actions.get(replay_id))))


class ReplayCancel(generics.GenericAPIView):
    """Ask AWS to stop a running replay (what was replayed stays replayed)."""

    permission_classes = [IsAuthenticated]
    serializer_class = ReplaySerializer

    @extend_schema(request=None, responses={200: ReplaySerializer})
    def post(self, request: Request, replay_id: int) -> Response:
        return Response(_replay(actions.cancel(replay_id, actor=actor_for(request))))
