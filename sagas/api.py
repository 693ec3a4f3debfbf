"""The sagas REST API (v1), for the ticketing integration: list, summary, timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opsconsole.identity.permissions import IsViewer
from opsconsole.registry import get_registry
from opsconsole.web.masking import masker

from . import actions, queries
from .models import Saga, SagaStatus
from .timeline import Timeline, parse_json


class SagaPagination(CursorPagination):
    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = ("-started_at", "-id")


class SagaQuerySerializer(serializers.Serializer):
    kind = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(required=False, allow_blank=True, choices=SagaStatus.values)
    q = serializers.CharField(required=False, allow_blank=True, max_length=200)
    step = serializers.CharField(required=False, allow_blank=True, max_length=80)
    stuck = serializers.BooleanField(required=False, default=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate_kind(self, value: str) -> str:
        if value and value not in get_registry().kinds:
            known = ", ".join(get_registry().kinds)
            raise serializers.ValidationError(f"unknown saga kind {value!r} (known: {known})")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["since"] > attrs["until"]:
            raise serializers.ValidationError({"until": "must be after since"})
        return attrs


class SagaSerializer(serializers.ModelSerializer):
    ref = serializers.CharField(read_only=True)
    status_label = serializers.CharField(read_only=True)
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

    def get_url(self, saga: Saga) -> str:
        from .views import case_url

        request = self.context.get("request")
        path = case_url(saga)
        return request.build_absolute_uri(path) if request is not None else path


def _saga(reference: str) -> Saga:
    saga = queries.find_saga(reference, get_registry())
    if saga is None:
        raise NotFound(
            f"No saga {reference!r}: use the console id, the execution ARN or name, "
            "or <kind>:<business key>."
        )
    return saga


class SagaList(APIView):
    """GET /api/v1/sagas/?kind=&status=&q=&step=&stuck=&since=&until= (cursor-paginated)."""

    permission_classes = [IsViewer]

    def get(self, request: Request) -> Response:
        params = SagaQuerySerializer(data=request.query_params)
        if not params.is_valid():
            raise ValidationError(params.errors)
        p = params.validated_data
        now = timezone.now()
        filters = queries.Filters(
            q=p.get("q") or "",
            status=p.get("status") or "",
            step=p.get("step") or "",
            since=p.get("since"),
            until=p.get("until"),
            stuck=p.get("stuck", False),
        )
        qs = queries.filtered(p.get("kind") or None, filters, now=now, registry=get_registry())
        paginator = SagaPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        data = SagaSerializer(page, many=True, context={"request": request, "now": now}).data
        return paginator.get_paginated_response(data)


class SagaDetail(APIView):
    """GET /api/v1/sagas/{id}/: the summary and the business status from DynamoDB."""

    permission_classes = [IsViewer]

    def get(self, request: Request, ref: str) -> Response:
        saga = _saga(ref)
        now = timezone.now()
        kind = get_registry().kinds[saga.kind]
        business = actions.load_business(saga, now=now)
        mask = masker(kind.sensitive_fields, request, seeds=[actions.cached_input(saga)])
        data = dict(SagaSerializer(saga, context={"request": request, "now": now}).data)
        data.update(
            {
                "initiator": {"type": saga.initiator_type, "id": saga.initiator_id},
                "amount": str(saga.amount) if saga.amount is not None else None,
                "currency": saga.currency,
                "last_cause": mask(saga.last_cause),
                "compensation_ran": saga.compensation_ran,
                "waiting_for_callback": saga.callback_pending,
                "dynamodb": {
                    "status": business.status,
                    "items": mask(business.items),
                    "read_at": business.fetched_at,
                    "stale": bool(business.error),
                    "error": business.error,
                },
            }
        )
        return Response(data)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def timeline_json(timeline: Timeline, mask: Any, now: datetime) -> dict[str, Any]:
    failure = timeline.failure
    return {
        "status": timeline.status,
        "summary": timeline.summary(),
        "started_at": _iso(timeline.started_at),
        "ended_at": _iso(timeline.ended_at),
        "error": timeline.error,
        "cause": mask(timeline.cause),
        "failed_step": failure.name if failure else None,
        "compensation_steps_run": [v.name for v in timeline.compensation_visits],
        "event_count": timeline.event_count,
        "steps": [
            {
                "index": v.index,
                "name": v.name,
                "type": v.state_type,
                "entered_at": _iso(v.entered_at),
                "exited_at": _iso(v.exited_at),
                "duration_seconds": (
                    round(d.total_seconds(), 3) if (d := v.duration(now)) is not None else None
                ),
                "outcome": v.outcome,
                "error": v.error,
                "cause": mask(v.cause),
                "caught_to": v.caught_to or None,
                "branch": v.branch_label or None,
                "compensation": v.is_compensation,
                "approval": v.is_approval,
                "callback": v.callback,
                "deadline": _iso(v.deadline),
                "attempts": [
                    {
                        "number": a.number,
                        "started_at": _iso(a.scheduled_at),
                        "ended_at": _iso(a.ended_at),
                        "outcome": a.outcome,
                        "error": a.error,
                        "cause": mask(a.cause),
                    }
                    for a in v.attempts
                ],
                "input": mask(parse_json(v.input)),
                "output": mask(parse_json(v.output)),
            }
            for v in timeline.visits
        ],
    }


class SagaTimeline(APIView):
    """GET /api/v1/sagas/{id}/timeline/: every state visit, its attempts and outcome."""

    permission_classes = [IsViewer]

    def get(self, request: Request, ref: str) -> Response:
        saga = Saga.objects.select_related("sagadetail").get(pk=_saga(ref).pk)
        now = timezone.now()
        kind = get_registry().kinds[saga.kind]
        data = actions.load_case(saga, now=now)
        mask = masker(kind.sensitive_fields, request, seeds=[parse_json(data.timeline.input)])
        body = timeline_json(data.timeline, mask, now)
        body.update(
            {
                "saga": saga.pk,
                "ref": saga.ref,
                "stale": bool(data.aws_error),
                "error": data.aws_error,
                "as_of": _iso(data.data_as_of),
            }
        )
        return Response(body)
