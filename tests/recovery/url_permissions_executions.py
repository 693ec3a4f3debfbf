"""Permission-matrix entries for execution recovery and archive replays (merged into
tests/recovery/url_permissions.py)."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import api, page


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


def _done_saga() -> dict[str, Any]:
    # Every action is refused for a succeeded saga from the read model (409): no AWS call.
    from sagas.models import Saga

    found = _saga()
    Saga.objects.filter(pk=found["saga_id"]).update(status="succeeded", sfn_status="SUCCEEDED")
    return found


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
    "api-saga-recovery": api("viewer", kwargs=_saga),
    "api-saga-redrive": api("operator", method="POST", kwargs=_done_saga, ok=409),
    "api-saga-restart": api("operator", method="POST", kwargs=_done_saga, ok=409),
    "api-saga-stop": api(
        "operator", method="POST", kwargs=_done_saga, data={"reason": "matrix"}, ok=409
    ),
    "api-saga-resolve": api(
        "operator", method="POST", kwargs=_done_saga, data={"reason": "matrix"}, ok=409
    ),
    "api-recovery-dry-run": api(
        "viewer", method="POST", data={"kind": "orders", "action": "redrive"}
    ),
    "api-recovery-bulk": api(
        "operator", method="POST", data={"kind": "orders", "action": "redrive"}, ok=201
    ),
    "api-archives": api("viewer", fixtures=("aws",)),
    "api-replay-preview": api(
        "viewer",
        method="POST",
        data={
            "archive": "orders-archive",
            "start": "2026-01-02T00:00:00Z",
            "end": "2026-01-01T00:00:00Z",
        },
        ok=400,
    ),
    "api-replays": api("viewer"),
    "api-replay": api("viewer", kwargs=_replay),
    "api-replay-cancel": api("operator", method="POST", kwargs=_replay, ok=400),
}
