"""Synthetic read-model rows for page and API tests (no AWS needed)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone

from sagas.models import ACTIVE_STATUSES, Saga, SagaDetail, SagaStatus

HISTORIES = Path(__file__).parent / "histories"
ARN = "arn:aws:states:eu-west-1:123456789012:execution:{sm}:{name}"


def make_saga(
    kind: str = "orders",
    key: str = "1",
    status: str = SagaStatus.SUCCEEDED,
    *,
    started: datetime | None = None,
    step: str = "",
    **fields: Any,
) -> Saga:
    started = started or timezone.now() - timedelta(minutes=5)
    sm = "OrderFulfillment" if kind == "orders" else "AccountClosure"
    name = fields.pop("execution_name", f"{kind[:-1]}-{key}-{int(started.timestamp())}")
    active = status in ACTIVE_STATUSES
    defaults: dict[str, Any] = {
        "kind": kind,
        "execution_arn": ARN.format(sm=sm, name=name),
        "execution_name": name,
        "state_machine_arn": f"arn:aws:states:eu-west-1:123456789012:stateMachine:{sm}",
        "business_key": key,
        "correlation_id": f"corr-{kind}-{key}",
        "status": status,
        "sfn_status": "RUNNING" if active else "SUCCEEDED",
        "current_step": step,
        "started_at": started,
        "stopped_at": None if active else started + timedelta(seconds=4),
        "step_entered_at": started if active else None,
        "step_deadline": started + timedelta(seconds=120) if active else None,
    }
    defaults.update(fields)
    return Saga.objects.create(**defaults)


def saga_from_history(name: str, **fields: Any) -> Saga:
    """A synced saga with the recorded history `name` cached (terminal: never refetched) and
    its business items read just now."""
    doc = json.loads((HISTORIES / f"{name}.json").read_text())
    events = doc["events"]
    started = datetime.fromisoformat(events[0]["timestamp"])
    ended = datetime.fromisoformat(events[-1]["timestamp"])
    terminal = doc["status"] != "RUNNING"
    sm = "OrderFulfillment" if doc["kind"] == "orders" else "AccountClosure"
    saga = make_saga(
        doc["kind"],
        doc["business_key"],
        fields.pop("status", SagaStatus.COMPENSATED if terminal else SagaStatus.WAITING),
        started=started,
        execution_name=f"{doc['kind'][:-1]}-{doc['business_key']}-1",
        sfn_status=doc["status"],
        stopped_at=ended if terminal else None,
        **fields,
    )
    saga.execution_arn = ARN.format(sm=sm, name=saga.execution_name)
    saga.save()
    SagaDetail.objects.create(
        saga=saga,
        history=events,
        history_event_count=len(events),
        history_complete=terminal,
        history_fetched_at=timezone.now(),
        items=[
            {
                "pk": f"ORDER#{doc['business_key']}",
                "sk": "META",
                "status": saga.business_status,
                "customerEmail": "someone@example.net",
            },
            {"pk": f"ORDER#{doc['business_key']}", "sk": "PAYMENT", "status": "REFUNDED"},
        ],
        items_fetched_at=timezone.now(),
    )
    return saga
