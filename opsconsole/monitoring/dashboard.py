"""The dashboard's charts: DLQ depth, queue age, failures, approvals waiting and the
compensation rate over 1 h (raw samples), 24 h and 7 d (rollups, raw while none exist)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from . import charts, series

RANGES = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}

# (title, series key prefix, label naming a line)
PANELS = (
    ("DLQ depth (messages)", "signal|dlq_depth|", "dlq"),
    ("Age of the oldest message (s)", "AWS/SQS|ApproximateAgeOfOldestMessage|", "QueueName"),
    ("Executions failed (per minute)", "AWS/States|ExecutionsFailed|", "StateMachineArn"),
    ("Approvals waiting", "signal|approvals_waiting|", "kind"),
    ("Compensation rate (last hour)", "signal|compensation_rate|", "kind"),
)


def _name(key: str, label: str) -> str:
    value = series.labels_of(key).get(label, key)
    return value.rsplit(":", 1)[-1]  # a state machine's name from its ARN


def charts_for(span: str, now: datetime) -> list[charts.Chart]:
    start = now - RANGES[span]
    out = []
    for title, prefix, label in PANELS:
        data = {}
        if span != "1h":
            data = series.history(prefix, start, now, settings.MONITORING_ROLLUP_SECONDS)
        if not data:
            data = series.history(prefix, start, now, 0)
        named = {_name(k, label): v for k, v in data.items()}
        out.append(charts.line_chart(title, named, start, now))
    return out
