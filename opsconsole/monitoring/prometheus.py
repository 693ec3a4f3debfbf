"""The console's own metrics at /metrics (prometheus-client), read when scraped: sync lag
per kind, poll duration, task failures, alerts by state, AWS errors by service, circuit
breakers, and the latest value of every business signal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from opsconsole.aws import clients

from . import series
from .models import Alert, AlertState, Sample


class ConsoleCollector:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        by_state = dict(Alert.objects.values_list("state").annotate(n=Count("id")))
        alerts = GaugeMetricFamily("opsconsole_alerts", "Alerts by state", labels=["state"])
        for state, _ in AlertState.choices:
            alerts.add_metric([state], float(by_state.get(state, 0)))
        yield alerts

        poll = GaugeMetricFamily(
            "opsconsole_metric_poll_duration_seconds", "Duration of the last metric poll"
        )
        last = series.latest(series.console_key("poll_duration_seconds"), timedelta(days=1), now)
        if last:
            poll.add_metric([], next(iter(last.values())))
        yield poll

        for name, help_text, label in (
            ("task_failures", "Failed Celery tasks in the last hour", "task"),
            ("aws_errors", "Failed AWS calls of the poller in the last hour", "service"),
        ):
            family = GaugeMetricFamily(f"opsconsole_{name}", help_text, labels=[label])
            rows = (
                Sample.objects.filter(
                    series__startswith=series.console_key(name, None).rstrip("|") + "|",
                    resolution=Sample.RAW,
                    at__gte=now - timedelta(hours=1),
                )
                .values_list("series")
                .annotate(n=Count("id"))
            )
            for key, n in rows:
                family.add_metric([series.labels_of(key).get(label, "")], float(n))
            yield family

        circuits = GaugeMetricFamily(
            "opsconsole_aws_circuit_open",
            "AWS endpoints whose circuit breaker is open",
            labels=["endpoint"],
        )
        for endpoint in clients.open_circuits():
            circuits.add_metric([endpoint], 1.0)
        yield circuits

        signal = GaugeMetricFamily(
            "opsconsole_signal",
            "The latest value of each business signal",
            labels=["signal", "series"],
        )
        for key, value in series.latest("signal|", timedelta(minutes=10), now).items():
            _, name, labels = key.split("|", 2)
            signal.add_metric([name, labels], value)
        yield signal

        lag = GaugeMetricFamily(
            "opsconsole_sync_lag_seconds",
            "Seconds since the saga read model last synced",
            labels=["kind"],
        )
        for key, value in series.latest(
            "signal|sync_lag_seconds|", timedelta(minutes=10), now
        ).items():
            lag.add_metric([series.labels_of(key).get("kind", "")], value)
        yield lag


def render() -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ConsoleCollector())  # type: ignore[arg-type]
    return generate_latest(registry), CONTENT_TYPE_LATEST
