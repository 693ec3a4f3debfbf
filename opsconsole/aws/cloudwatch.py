"""CloudWatch: metric data in batches of up to 500 queries a call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .clients import AwsEnvironment, aws_call, client

METRIC_QUERIES_PER_CALL = 500  # GetMetricData's maximum


@dataclass(frozen=True)
class MetricQuery:
    id: str  # unique within one request; [a-z][a-zA-Z0-9_]*
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Maximum"
    period: int = 60


@dataclass(frozen=True)
class MetricSeries:
    id: str
    timestamps: tuple[datetime, ...]
    values: tuple[float, ...]

    @property
    def latest(self) -> float | None:
        if not self.values:
            return None
        return self.values[self.timestamps.index(max(self.timestamps))]


@aws_call("GetMetricData")
def get_metric_data(
    queries: list[MetricQuery], start: datetime, end: datetime, env: AwsEnvironment | None = None
) -> dict[str, MetricSeries]:
    """Fetch many metrics, 500 queries a call; returns series keyed by query id."""
    cw = client("cloudwatch", env)
    out: dict[str, MetricSeries] = {}
    for begin in range(0, len(queries), METRIC_QUERIES_PER_CALL):
        batch = queries[begin : begin + METRIC_QUERIES_PER_CALL]
        request: dict[str, Any] = {
            "MetricDataQueries": [
                {
                    "Id": q.id,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": q.namespace,
                            "MetricName": q.metric,
                            "Dimensions": [{"Name": n, "Value": v} for n, v in q.dimensions],
                        },
                        "Period": q.period,
                        "Stat": q.stat,
                    },
                }
                for q in batch
            ],
            "StartTime": start,
            "EndTime": end,
        }
        while True:
            page = cw.get_metric_data(**request)
            for r in page.get("MetricDataResults", []):
                prev = out.get(r["Id"])
                ts = tuple(r.get("Timestamps", []))
                vals = tuple(float(v) for v in r.get("Values", []))
                if prev:
                    ts, vals = prev.timestamps + ts, prev.values + vals
                out[r["Id"]] = MetricSeries(id=r["Id"], timestamps=ts, values=vals)
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
    return out


@aws_call("PutMetricData")
def put_metric(
    namespace: str,
    metric: str,
    value: float,
    dimensions: dict[str, str],
    env: AwsEnvironment | None = None,
) -> None:
    """Publish one data point (the emulator's traffic generator and business metrics)."""
    client("cloudwatch", env).put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Value": value,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
            }
        ],
    )


@dataclass(frozen=True)
class Datum:
    metric: str
    value: float
    dimensions: tuple[tuple[str, str], ...] = ()
    timestamp: datetime | None = None
    unit: str | None = None


PUT_DATA_PER_CALL = 1000  # PutMetricData's maximum of metric data items


@aws_call("PutMetricData")
def put_metrics(namespace: str, data: list[Datum], env: AwsEnvironment | None = None) -> int:
    """Publish many data points of one namespace, 1,000 a call; returns the number of calls."""
    cw = client("cloudwatch", env)
    calls = 0
    for begin in range(0, len(data), PUT_DATA_PER_CALL):
        items = []
        for d in data[begin : begin + PUT_DATA_PER_CALL]:
            item: dict[str, Any] = {
                "MetricName": d.metric,
                "Value": d.value,
                "Dimensions": [{"Name": n, "Value": v} for n, v in d.dimensions],
            }
            if d.timestamp is not None:
                item["Timestamp"] = d.timestamp
            if d.unit:
                item["Unit"] = d.unit
            items.append(item)
        cw.put_metric_data(Namespace=namespace, MetricData=items)
        calls += 1
    return calls
