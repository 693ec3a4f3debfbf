"""Dead-letter snapshots for tests that need no AWS (pages, search, the matrix)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

from opsconsole.recovery.models import DeadLetter


def make_letter(
    dlq: str = "shipments-dlq",
    message_id: str | None = None,
    *,
    body: Any = None,
    mechanism: str = "sqs_redrive",
    **fields: Any,
) -> DeadLetter:
    now = timezone.now()
    if body is None:
        body = {"orderId": "8847", "postcode": "ZZ9 9ZZ", "customerEmail": "c@example.net"}
    text = body if isinstance(body, str) else json.dumps(body)
    defaults: dict[str, Any] = {
        "dlq": dlq,
        "queue": dlq,
        "mechanism": mechanism,
        "kind": "orders",
        "message_id": message_id or f"m-{DeadLetter.objects.count() + 1}",
        "body": text,
        "body_size": len(text.encode()),
        "body_format": "text" if isinstance(body, str) else "json",
        "business_key": "8847",
        "correlation_id": "corr-orders-8847",
        "receive_count": 3,
        "sent_at": now - timedelta(hours=2),
        "first_seen_at": now,
        "last_seen_at": now,
    }
    defaults.update(fields)
    return DeadLetter.objects.create(**defaults)
