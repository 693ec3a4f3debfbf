"""The sync's state and the AWS call budget: a page for admins, and the API.

`GET /sagas/sync/` (admins): every kind's sync state and every budget's use.
`GET /api/v1/sync/` (viewers): every kind's sync state, with its budget use, so a client can
tell why a saga is not there yet. `GET /api/v1/aws-budget/` (admins): the budgets and their
use over the last minute (the same numbers `opsconsole.aws.budget.usage()` gives metrics).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from opsconsole.aws import budget
from opsconsole.identity.permissions import IsAdmin, IsViewer
from opsconsole.identity.roles import ADMIN, role_required
from opsconsole.web.http import HtmxHttpRequest

from .sync_status import all_sync_statuses


class BudgetUsageSerializer(serializers.Serializer):
    environment = serializers.CharField()
    service = serializers.CharField()
    operation = serializers.CharField()
    work = serializers.CharField(
        help_text="sync, events, backfill, recovery, monitoring, interactive, other"
    )
    quota_rate = serializers.FloatField(help_text="The account's quota, calls per second.")
    budget_rate = serializers.FloatField(help_text="This work's share, calls per second.")
    budget_burst = serializers.FloatField()
    rate_last_minute = serializers.FloatField()
    percent_of_budget = serializers.FloatField()
    calls_last_minute = serializers.IntegerField()
    throttled_last_minute = serializers.IntegerField(help_text="Refused by AWS itself.")
    refused_last_minute = serializers.IntegerField(help_text="Deferred by the budget.")
    calls_total = serializers.IntegerField()
    throttled_total = serializers.IntegerField()
    refused_total = serializers.IntegerField()


class SyncStatusSerializer(serializers.Serializer):
    kind = serializers.CharField()
    mode = serializers.ChoiceField(choices=["events", "polling"])
    events_queue = serializers.CharField(allow_null=True)
    backlog = serializers.IntegerField(help_text="Listed but not described yet.")
    awaiting_events = serializers.IntegerField(
        help_text="Seen ended by the safety net's listing, still shown running until their "
        "status change event arrives (or, after two minutes, a describe)."
    )
    last_event_at = serializers.DateTimeField(allow_null=True)
    last_event_lag_seconds = serializers.FloatField(allow_null=True)
    events_applied = serializers.IntegerField()
    last_listing_at = serializers.DateTimeField(allow_null=True)
    listing_interval_seconds = serializers.FloatField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    failing = serializers.BooleanField()
    last_error = serializers.CharField()
    throttled_last_minute = serializers.IntegerField()
    refused_last_minute = serializers.IntegerField()
    budget = BudgetUsageSerializer(many=True)


class BudgetSerializer(serializers.Serializer):
    api = serializers.CharField(help_text="service.Operation")
    work = serializers.CharField()
    burst = serializers.FloatField()
    rate = serializers.FloatField()


class AwsBudgetSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    budgets = BudgetSerializer(many=True)
    usage = BudgetUsageSerializer(many=True)


def _budgets() -> list[dict[str, Any]]:
    return [
        {"api": api, "work": work, "burst": burst, "rate": rate}
        for api, work, burst, rate in budget.budgets()
    ]


class SyncStatusList(APIView):
    """Every saga kind's sync: events or polling, backlog, last event, budget use."""

    permission_classes: list[type[BasePermission]] = [IsViewer]

    @extend_schema(responses=SyncStatusSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(SyncStatusSerializer(all_sync_statuses(), many=True).data)


class AwsBudget(APIView):
    """The console's budget of AWS calls and its use over the last minute (admins)."""

    permission_classes: list[type[BasePermission]] = [IsAdmin]

    @extend_schema(responses=AwsBudgetSerializer)
    def get(self, request: Request) -> Response:
        from django.conf import settings

        data = {
            "enabled": settings.AWS_BUDGET_ENABLED,
            "budgets": _budgets(),
            "usage": budget.usage(),
        }
        return Response(AwsBudgetSerializer(data).data)


@require_GET
@role_required(ADMIN)
def sync_page(request: HtmxHttpRequest) -> HttpResponse:
    from django.conf import settings

    return render(
        request,
        "sagas/sync.html",
        {
            "statuses": all_sync_statuses(),
            "usage": budget.usage(),
            "budgets": _budgets(),
            "enabled": settings.AWS_BUDGET_ENABLED,
        },
    )
