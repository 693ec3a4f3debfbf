"""Permission-matrix entries for the approvals pages and API (see tests/identity/matrix.py)."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import api, page


def _request() -> dict[str, Any]:
    from tests.approvals.factories import make_request

    return {"pk": make_request().pk}


def _saga() -> dict[str, Any]:
    from django.utils import timezone

    from sagas.models import Saga

    saga = Saga.objects.create(
        kind="orders",
        execution_arn="arn:aws:states:eu-west-1:123456789012:execution:OrderFulfillment:matrix",
        execution_name="matrix",
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFulfillment",
        business_key="8842",
        status="waiting",
        sfn_status="RUNNING",
        started_at=timezone.now(),
    )
    return {"saga_id": saga.pk}


# A rejection without a reason: allowed callers get the clear 400, and nothing changes.
_NO_REASON = {"decision": "reject"}

URL_PERMISSIONS = {
    "approvals:inbox": page("viewer"),
    "approvals:detail": page("viewer", kwargs=_request, fixtures=("aws",)),
    "approvals:decide": page(
        "approver", method="POST", kwargs=_request, data=_NO_REASON, ok=400, fixtures=("aws",)
    ),
    "approvals:claim": page("approver", method="POST", kwargs=_request, ok=303),
    "approvals:unclaim": page("approver", method="POST", kwargs=_request, ok=303),
    "approvals:bulk": page("approver", method="POST", ok=303),
    "approvals:saga_panel": page("viewer", kwargs=_saga),
    "api-approvals": api("viewer"),
    "api-approval": api("viewer", kwargs=_request),
    "api-approval-decision": api(
        "approver", method="POST", kwargs=_request, data=_NO_REASON, ok=400
    ),
}
