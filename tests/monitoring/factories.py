from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from opsconsole.monitoring.models import Alert, Silence


def make_alert(**fields: Any) -> Alert:
    now = timezone.now()
    values: dict[str, Any] = {
        "rule": "dlq-not-empty",
        "fingerprint": f"fp-{Alert.objects.count()}",
        "labels": {"dlq": "payments-dlq", "queue": "payments-dlq", "kind": "orders"},
        "severity": "critical",
        "state": "firing",
        "state_since": now,
        "fired_at": now,
        "evaluated_at": now,
        "value": 3.0,
    }
    values.update(fields)
    return Alert.objects.create(**values)


def make_silence(**fields: Any) -> Silence:
    now = timezone.now()
    values: dict[str, Any] = {
        "matchers": {"alertname": "dlq-not-empty"},
        "starts_at": now,
        "ends_at": now + timedelta(hours=1),
        "created_by": "olga@example.com",
        "reason": "redriving payments-dlq",
    }
    values.update(fields)
    return Silence.objects.create(**values)
