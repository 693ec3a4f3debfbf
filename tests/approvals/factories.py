"""Building blocks of the approvals tests: stored requests and a counting gateway."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from opsconsole.aws import stepfunctions  # noqa: F401 - patched by the gateway fixture


def make_request(
    token: str | None = None,
    *,
    kind: str = "orders",
    business_key: str = "8842",
    amount: str | None = "1240.00",
    requested_by: str = "storefront",
    deadline_in: float | None = 86400,
    status: str = "pending",
    **fields: Any,
) -> Any:
    """An approval request stored directly (no AWS): for pages, API and rules."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from approvals.crypto import encrypt_token, token_dedup_key
    from approvals.models import ApprovalRequest

    token = token or f"tok-{uuid.uuid4().hex}"
    now = timezone.now()
    defaults: dict[str, Any] = {
        "kind": kind,
        "queue_name": "order-approvals" if kind == "orders" else "closure-approvals",
        "business_key": business_key,
        "summary": (
            f"order {business_key}, {amount} EUR, above the 1,000 threshold"
            if kind == "orders"
            else f"close account {business_key}"
        ),
        "amount": Decimal(amount) if amount and kind == "orders" else None,
        "currency": "EUR" if kind == "orders" else "",
        "requested_by": requested_by,
        "requested_by_type": "service",
        "requested_at": now - timedelta(minutes=5),
        "deadline": now + timedelta(seconds=deadline_in) if deadline_in is not None else None,
        "execution_arn": f"arn:aws:states:eu-west-1:123456789012:execution:X:{uuid.uuid4().hex}",
        "status": status,
        "token_encrypted": encrypt_token(token),
        "dedup_key": token_dedup_key(token),
    }
    defaults.update(fields)
    return ApprovalRequest.objects.create(**defaults)


class GatewayCalls:
    """Stands in for the Step Functions calls and counts them (no AWS needed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.success: list[tuple[str, dict[str, Any]]] = []
        self.failure: list[tuple[str, str, str]] = []
        self.raise_on_success: Exception | None = None

    def send_task_success(self, token: str, output: dict[str, Any], env: Any = None) -> None:
        if self.raise_on_success is not None:
            raise self.raise_on_success
        with self.lock:
            if any(t == token for t, _ in self.success):
                from opsconsole.aws.errors import TaskTokenInvalid

                raise TaskTokenInvalid("Invalid Token", code="InvalidToken")
            self.success.append((token, output))

    def send_task_failure(self, token: str, error: str, cause: str, env: Any = None) -> None:
        self.failure.append((token, error, cause))
