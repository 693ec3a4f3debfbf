"""moto's GetMetricData, indexed: data points grouped by (namespace, metric, dimension set)
once per call, instead of a scan of every point for every query and every period (a
500-query call over a few thousand points took seconds). The answer is the same, except
that dimensions must match exactly, as in AWS (moto also matched a query without
dimensions to any point of the metric, and ignored the namespace when dimensions were
given). Metric math and Insights queries go to moto's own implementation.

Applied where the other emulator patches are: `moto_main.speed_up` and the tests'
`pytest_configure`. Imports nothing of the product (it runs in the emulator process).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any


def index_metric_data() -> None:
    """GetMetricData answered from an index (metric, dimension set) -> points."""
    from moto.cloudwatch.models import CloudWatchBackend, Statistics

    original = CloudWatchBackend.get_metric_data
    if getattr(original, "_opsconsole_indexed", False):
        return

    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: datetime,
        end_time: datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        if any("MetricStat" not in q for q in queries) or start_time >= end_time:
            return original(self, queries, start_time, end_time, scan_by)
        start_time = start_time.replace(microsecond=0)
        end_time = end_time.replace(microsecond=0)
        index: dict[tuple[str, str, frozenset[tuple[str, str]]], list[Any]] = defaultdict(list)
        for md in self.get_all_metrics():
            if start_time <= md.timestamp < end_time:
                dims = frozenset((d.name, d.value) for d in md.dimensions)
                index[(md.namespace, md.name, dims)].append(md)
        results = []
        for query in queries:
            stat_q = query["MetricStat"]
            metric = stat_q["Metric"]
            dims = frozenset((d["Name"], d["Value"]) for d in metric.get("Dimensions", []))
            points = index.get((metric["Namespace"], metric["MetricName"], dims), [])
            unit = stat_q.get("Unit")
            if unit:
                points = [p for p in points if p.unit == unit]
            period = int(stat_q["Period"])
            buckets: dict[int, list[Any]] = defaultdict(list)
            for p in points:
                buckets[int((p.timestamp - start_time).total_seconds()) // period].append(p)
            timestamps, values = [], []
            for slot in sorted(buckets):
                at = start_time + timedelta(seconds=slot * period)
                stats = Statistics([stat_q["Stat"]], at)
                stats.metric_data = buckets[slot]
                timestamps.append(at)
                values.append(stats.get_statistics_for_type(stat_q["Stat"]))
            if scan_by == "TimestampDescending":
                timestamps.reverse()
                values.reverse()
            if query.get("ReturnData", True):
                results.append(
                    {
                        "id": query["Id"],
                        "label": query.get("Label") or f"{metric['MetricName']} {stat_q['Stat']}",
                        "values": values,
                        "timestamps": timestamps,
                        "status_code": "Complete",
                    }
                )
        return results

    get_metric_data._opsconsole_indexed = True  # type: ignore[attr-defined]
    get_metric_data.__wrapped_original__ = original  # type: ignore[attr-defined]
    CloudWatchBackend.get_metric_data = get_metric_data  # type: ignore[method-assign]
