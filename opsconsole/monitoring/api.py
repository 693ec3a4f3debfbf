"""REST API v1: alerts, their history, acknowledging, silences."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from opsconsole.identity.permissions import IsViewer
from opsconsole.identity.roles import actor_for
from opsconsole.web.problems import PROBLEM_CONTENT_TYPE
from opsconsole.web.serializers import ProblemSerializer

from . import actions
from .models import Alert, Silence, Transition
from .serializers import (
    AcknowledgeInput,
    AlertQuerySerializer,
    AlertSerializer,
    SilenceInput,
    SilenceSerializer,
    TransitionSerializer,
)


class NewestFirst(CursorPagination):
    ordering = ("-id",)
    page_size = 50


class AlertList(generics.ListAPIView):
    """Alerts (one per rule and series), newest first; filter by state or rule."""

    serializer_class = AlertSerializer
    permission_classes = [IsViewer]
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        params = AlertQuerySerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        qs = Alert.objects.all()
        if state := params.validated_data.get("state"):
            qs = qs.filter(state=state)
        if rule := params.validated_data.get("rule"):
            qs = qs.filter(rule=rule)
        return qs

    @extend_schema(parameters=[AlertQuerySerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AlertDetail(generics.RetrieveAPIView):
    """One alert."""

    serializer_class = AlertSerializer
    permission_classes = [IsViewer]
    queryset = Alert.objects.all()


class AlertHistory(generics.ListAPIView):
    """An alert's state changes, newest first, each with the samples it was decided on."""

    serializer_class = TransitionSerializer
    permission_classes = [IsViewer]
    pagination_class = NewestFirst

    def get_queryset(self) -> Any:
        alert = actions.get_alert(self.kwargs["pk"])
        return Transition.objects.filter(alert=alert)


class AlertAcknowledge(generics.GenericAPIView):
    """Acknowledge a firing alert (operators and admins): who, when, a note; mutes nothing."""

    permission_classes = [IsAuthenticated]
    serializer_class = AcknowledgeInput

    @extend_schema(
        request=AcknowledgeInput,
        responses={
            200: AlertSerializer,
            (403, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="Not an operator."
            ),
            (404, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="No such alert."
            ),
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="Not firing, or acknowledged already."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        payload = AcknowledgeInput(data=request.data)
        payload.is_valid(raise_exception=True)
        alert = actions.acknowledge(
            pk, actor=actor_for(request), note=payload.validated_data["note"]
        )
        return Response(AlertSerializer(alert, context={"request": request}).data)


class SilenceList(generics.ListCreateAPIView):
    """Silences, newest first; POST creates one (operators and admins)."""

    serializer_class = SilenceSerializer
    pagination_class = NewestFirst
    queryset = Silence.objects.all()

    def get_permissions(self) -> list[Any]:
        # Anyone signed in may try to create: the action refuses (and audits) the rest.
        return [IsAuthenticated()] if self.request.method == "POST" else [IsViewer()]

    @extend_schema(
        request=SilenceInput,
        responses={
            201: SilenceSerializer,
            (400, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="Invalid silence."
            ),
            (403, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="Not an operator."
            ),
        },
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = SilenceInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        minutes = data.get("duration_minutes")
        silence = actions.create_silence(
            actor=actor_for(request),
            matchers=data["matchers"],
            reason=data["reason"],
            ends_at=data.get("ends_at"),
            starts_at=data.get("starts_at"),
            duration=timedelta(minutes=minutes) if minutes else None,
        )
        return Response(
            SilenceSerializer(silence, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


class SilenceDetail(generics.RetrieveAPIView):
    """One silence."""

    serializer_class = SilenceSerializer
    permission_classes = [IsViewer]
    queryset = Silence.objects.all()


class SilenceExpire(generics.GenericAPIView):
    """End a silence now (operators and admins)."""

    permission_classes = [IsAuthenticated]
    serializer_class = SilenceSerializer

    @extend_schema(
        request=None,
        responses={
            200: SilenceSerializer,
            (403, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="Not an operator."
            ),
            (404, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="No such silence."
            ),
            (409, PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="Already over."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        silence = actions.expire_silence(pk, actor=actor_for(request))
        return Response(SilenceSerializer(silence, context={"request": request}).data)
