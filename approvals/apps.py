from __future__ import annotations

from typing import Any

from opsconsole import plugins
from opsconsole.schedule import PeriodicJob
from opsconsole.web.problems import register_errors


class ApprovalsConfig(plugins.PluginConfig):
    name = "approvals"
    nav = plugins.Nav(order=20, links=lambda: _nav_links(), role="viewer")
    plugs = (
        plugins.TargetLink("approval", "approvals:detail"),
        plugins.Counter(
            "approvals-waiting",
            compute=lambda request: _waiting_counter(request),
            role="viewer",
            order=10,
            landing_for="approver",
        ),
        plugins.Panel(
            name="approvals",
            title="Approvals",
            url_name="approvals:saga_panel",
            link_text="Show the approval requests of this saga",
            role="viewer",
            order=10,
        ),
        PeriodicJob(
            "collect-approvals",
            "approvals.tasks.collect_approval_requests",
            lambda settings: settings.APPROVALS_POLL_SECONDS,
        ),
        PeriodicJob("sweep-approvals", "approvals.tasks.sweep_approval_requests", 30.0),
        # Business signals for monitoring (approvals/signals.py).
        plugins.Signal(
            "approvals_waiting",
            ("kind",),
            "approvals.signals.approvals_waiting",
            "Approval requests waiting for a decision",
            "approvals.signals.link",
        ),
        plugins.Signal(
            "approval_oldest_wait",
            ("kind",),
            "approvals.signals.approval_oldest_wait",
            "Seconds the oldest waiting approval request has waited",
            "approvals.signals.link_oldest",
        ),
    )

    def ready(self) -> None:
        super().ready()
        # Imported here: the error specs name the actions' errors, which need the models.
        from .errors import ERROR_SPECS

        register_errors(ERROR_SPECS)
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


def _waiting() -> int:
    from .models import WAITING_STATUSES, ApprovalRequest

    return ApprovalRequest.objects.filter(status__in=WAITING_STATUSES).count()


def _nav_links() -> list[tuple[str, str]]:
    from django.urls import reverse

    n = _waiting()
    return [(f"Approvals ({n})" if n else "Approvals", reverse("approvals:inbox"))]


def _waiting_counter(request: Any) -> plugins.Count:
    from django.urls import reverse

    return plugins.Count("approvals waiting", _waiting(), reverse("approvals:inbox"))
