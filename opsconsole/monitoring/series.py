"""Series keys and samples: how polled metrics and signals are stored and read back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.db import connection, transaction

from .models import Sample


def _labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def metric_key(namespace: str, metric: str, dimensions: Mapping[str, str], stat: str) -> str:
    return f"{namespace}|{metric}|{stat}|{_labels_text(dimensions)}"


def signal_key(signal: str, labels: Mapping[str, str]) -> str:
    return f"signal|{signal}|{_labels_text(labels)}"


def console_key(name: str, labels: Mapping[str, str] | None = None) -> str:
    """The console's own numbers (poll duration, AWS errors), kept like any series."""
    return f"console|{name}|{_labels_text(labels or {})}"


def labels_of(key: str) -> dict[str, str]:
    text = key.rsplit("|", 1)[-1]
    return dict(part.split("=", 1) for part in text.split(",") if "=" in part)


def write(points: Iterable[tuple[str, datetime, float]]) -> int:
    """Store raw samples (one per series and time; a second write of the same one updates).

    One parametrised upsert sent as a batch (`INSERT ... ON CONFLICT DO UPDATE`, which
    SQLite and PostgreSQL both speak): a poll cycle writes tens of thousands of samples,
    and building a model instance for each took seconds."""
    table = connection.ops.quote_name(Sample._meta.db_table)
    sql = (
        f"INSERT INTO {table} (series, at, resolution, value, minimum, maximum, total, count) "  # noqa: S608
        "VALUES (%s, %s, 0, %s, %s, %s, %s, 1) "
        "ON CONFLICT (series, resolution, at) DO UPDATE SET value = excluded.value, "
        "minimum = excluded.minimum, maximum = excluded.maximum, total = excluded.total"
    )
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(key, adapt(at), v, v, v, v) for key, at, v in points]
    if rows:
        # One transaction: in autocommit each row would be a commit of its own.
        with transaction.atomic(), connection.cursor() as cursor:
            for begin in range(0, len(rows), 5000):
                cursor.executemany(sql, rows[begin : begin + 5000])
    return len(rows)


def window(
    keys: Iterable[str], start: datetime, end: datetime
) -> dict[str, list[tuple[datetime, float]]]:
    """Raw samples of many series in [start, end], oldest first, in one query."""
    out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    wanted = sorted(set(keys))
    for begin in range(0, len(wanted), 900):
        for key, at, value in (
            Sample.objects.filter(
                series__in=wanted[begin : begin + 900],
                resolution=Sample.RAW,
                at__gte=start,
                at__lte=end,
            )
            .order_by("at")
            .values_list("series", "at", "value")
        ):
            out[key].append((at, value))
    return out


def history(
    prefix: str, start: datetime, end: datetime, resolution: int
) -> dict[str, list[tuple[datetime, float]]]:
    """Every series whose key starts with `prefix`, at a resolution (0 raw), for charts."""
    out: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for key, at, value in (
        Sample.objects.filter(
            series__startswith=prefix, resolution=resolution, at__gte=start, at__lte=end
        )
        .order_by("at")
        .values_list("series", "at", "value")
    ):
        out[key].append((at, value))
    return out


def latest(prefix: str, since: timedelta, now: datetime) -> dict[str, float]:
    """The newest raw value of each series under `prefix` written in the last `since`."""
    out: dict[str, float] = {}
    for key, _at, value in (
        Sample.objects.filter(series__startswith=prefix, resolution=Sample.RAW, at__gte=now - since)
        .order_by("at")
        .values_list("series", "at", "value")
    ):
        out[key] = value
    return out
