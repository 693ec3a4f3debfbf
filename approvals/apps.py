from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from sagas.api_extensions import register_detail_extension

        from .serializers import SagaApprovalSerializer

        # The saga detail of the API lists the saga's approval requests; sagas cannot import
        # approvals, so approvals plugs itself in.
        register_detail_extension(
            "approval_requests",
            field=lambda: SagaApprovalSerializer(
                many=True, help_text="The saga's approval requests, oldest first."
            ),
            load=_approval_requests,
        )


def _approval_requests(saga: Any, request: Any) -> Any:
    from django.db.models import Q

    from .models import ApprovalRequest

    # Requests collected before the saga was synced are linked by ARN only.
    return (
        ApprovalRequest.objects.filter(
            Q(saga=saga) | Q(saga__isnull=True, execution_arn=saga.execution_arn)
        )
        .prefetch_related("decisions")
        .order_by("requested_at", "id")
    )
