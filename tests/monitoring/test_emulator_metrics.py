"""The emulator's indexed GetMetricData answers like moto's own, and the Celery tasks run
the real path (poll, evaluate, keep samples)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from moto.cloudwatch.models import CloudWatchBackend

from opsconsole.aws import cloudwatch
from opsconsole.monitoring import tasks
from opsconsole.monitoring.models import Alert


def test_the_indexed_get_metric_data_answers_like_motos_own(aws):
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    data = [
        cloudwatch.Datum(
            "Depth", float(q * 10 + m), (("QueueName", f"q{q}"),), now - timedelta(minutes=m)
        )
        for q in range(3)
        for m in range(5)
    ]
    cloudwatch.put_metrics("AWS/SQS", data)
    queries = [
        cloudwatch.MetricQuery(
            id=f"q{q}_{stat}",
            namespace="AWS/SQS",
            metric="Depth",
            dimensions=(("QueueName", f"q{q}"),),
            stat=stat,
        )
        for q in range(3)
        for stat in ("Maximum", "Sum", "SampleCount")
    ]
    start, end = now - timedelta(minutes=10), now + timedelta(minutes=1)
    indexed = cloudwatch.get_metric_data(queries, start, end)
    patched = CloudWatchBackend.get_metric_data
    try:
        CloudWatchBackend.get_metric_data = patched.__wrapped_original__  # type: ignore[attr-defined]
        original = cloudwatch.get_metric_data(queries, start, end)
    finally:
        CloudWatchBackend.get_metric_data = patched
    assert indexed == original
    assert indexed["q2_Maximum"].latest == 20.0


@pytest.mark.django_db
def test_the_tasks_poll_evaluate_and_keep_samples(aws, settings):
    settings.METRICS_TOKEN = ""
    assert tasks.poll_metrics()["calls"] == 1
    result = tasks.evaluate_alerts()
    assert result["evaluated"] >= 1
    assert Alert.objects.filter(rule="dlq-not-empty").exists()  # no DLQ read yet: no data
    assert set(tasks.keep_samples()) == {"rolled_up", "raw", "rollups", "transitions"}
