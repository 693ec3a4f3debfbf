"""Samples kept with retention and downsampling, so the database does not grow unbounded.

Raw samples live `MONITORING_RAW_RETENTION_DAYS` (2), rollups (min, max, sum, count and the
average per `MONITORING_ROLLUP_SECONDS` bucket) `MONITORING_ROLLUP_RETENTION_DAYS` (30).
`rollup` recomputes the last few whole buckets each run (idempotent: a bucket is upserted),
`prune` deletes what is past its retention; decided transitions go with the rollups.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings

from .models import Sample, Transition

RECOMPUTED_BUCKETS = 3


def bucket_start(at: datetime, seconds: int) -> datetime:
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=at.tzinfo)


def rollup(now: datetime, seconds: int | None = None) -> int:
    """Aggregate the raw samples of the last whole buckets; returns the rollups written."""
    size = seconds or settings.MONITORING_ROLLUP_SECONDS
    end = bucket_start(now, size)
    start = end - timedelta(seconds=size * RECOMPUTED_BUCKETS)
    buckets: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    for key, at, value in Sample.objects.filter(
        resolution=Sample.RAW, at__gte=start, at__lt=end
    ).values_list("series", "at", "value"):
        buckets[(key, bucket_start(at, size))].append(value)
    rows = [
        Sample(
            series=key,
            at=at,
            resolution=size,
            value=sum(values) / len(values),
            minimum=min(values),
            maximum=max(values),
            total=sum(values),
            count=len(values),
        )
        for (key, at), values in buckets.items()
    ]
    Sample.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["series", "resolution", "at"],
        update_fields=["value", "minimum", "maximum", "total", "count"],
        batch_size=500,
    )
    return len(rows)


def prune(now: datetime) -> dict[str, int]:
    """Delete raw samples and rollups past their retention; returns how many of each."""
    raw_until = now - timedelta(days=settings.MONITORING_RAW_RETENTION_DAYS)
    rollup_until = now - timedelta(days=settings.MONITORING_ROLLUP_RETENTION_DAYS)
    raw, _ = Sample.objects.filter(resolution=Sample.RAW, at__lt=raw_until).delete()
    rolled, _ = Sample.objects.filter(resolution__gt=Sample.RAW, at__lt=rollup_until).delete()
    decided, _ = Transition.objects.filter(processed_at__isnull=False, at__lt=rollup_until).delete()
    return {"raw": raw, "rollups": rolled, "transitions": decided}
