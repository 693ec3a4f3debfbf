"""Permission-matrix entries for execution recovery and archive replays (merged into
tests/recovery/url_permissions.py)."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import page


def _saga() -> dict[str, Any]:
    from django.utils import timezone

    from sagas.models import Saga

    saga = Saga.objects.create(
        kind="orders",
        execution_arn="arn:aws:states:eu-west-1:123456789012:execution:OrderFulfillment:m-rec",
        execution_name="m-rec",
        state_machine_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFulfillment",
        business_key="8842",
        status="running",
        sfn_status="RUNNING",
        started_at=timezone.now(),
    )
    return {"saga_id": saga.pk}


def _resolve() -> dict[str, Any]:
    # Resolving a running saga is refused from the read model: no AWS call.
    return {**_saga(), "action": "resolve"}


def _replay() -> dict[str, Any]:
    from django.utils import timezone

    from opsconsole.recovery.replays.models import ReplayRecord

    now = timezone.now()
    record = ReplayRecord.objects.create(
        name=f"matrix-{now.timestamp()}",
        archive="orders-archive",
        archive_arn="arn:aws:events:eu-west-1:123456789012:archive/orders-archive",
        bus="orders-bus",
        window_start=now,
        window_end=now,
        state="COMPLETED",
        actor="operator",
    )
    return {"replay_id": record.pk}


URL_PERMISSIONS = {
    "recovery:saga_panel": page("viewer", kwargs=_saga),
    "recovery:saga_action": page("operator", kwargs=_resolve),
    "recovery:bulk": page("operator"),
    "recovery:archives": page("viewer", fixtures=("aws",)),
    "recovery:new_replay": page("operator", kwargs={"archive": "orders-archive"}),
    "recovery:replay": page("viewer", kwargs=_replay),
    "recovery:cancel_replay": page("operator", method="POST", kwargs=_replay, ok=302),
}
