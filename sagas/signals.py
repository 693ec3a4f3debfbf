"""The sagas' business signals for monitoring (registered in SagasConfig; see
`opsconsole.plugins.Signal`): computed from the read model, never from AWS."""

from __future__ import annotations

from collections import Counter as Tally
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.timezone import now

from opsconsole.registry import get_registry

from .models import ACTIVE_STATUSES, Saga, SagaStatus

Series = list[tuple[dict[str, str], float | None]]
# The window the rates are computed over (the samples keep their history).
RATE_WINDOW = timedelta(hours=1)
FAILED = (
    SagaStatus.FAILED,
    SagaStatus.NEEDS_REVIEW,
    SagaStatus.TIMED_OUT,
    SagaStatus.COMPENSATED,
    SagaStatus.COMPENSATION_FAILED,
)


def saga_sla_breaches(now: datetime) -> Series:
    """Per kind: running sagas older than the kind's saga SLA (outside approval steps)."""
    out: Series = []
    for kind in get_registry().kinds.values():
        if not kind.saga_sla_seconds:
            continue
        n = (
            Saga.objects.filter(
                kind=kind.key,
                status__in=ACTIVE_STATUSES,
                started_at__lt=now - timedelta(seconds=kind.saga_sla_seconds),
            )
            .exclude(current_step__in=kind.approval_steps)
            .count()
        )
        out.append(({"kind": kind.key}, float(n)))
    return out


def step_sla_breaches(now: datetime) -> Series:
    """Per kind and step: running sagas past their step's deadline."""
    rows = Tally(
        Saga.objects.filter(status__in=ACTIVE_STATUSES, step_deadline__lt=now).values_list(
            "kind", "current_step"
        )
    )
    out: Series = [({"kind": k, "step": step}, float(n)) for (k, step), n in rows.items()]
    for kind in get_registry().kinds:
        if not any(k == kind for k, _ in rows):
            out.append(({"kind": kind, "step": ""}, 0.0))
    return out


def _finished(now: datetime) -> dict[str, Tally[str]]:
    by_kind: dict[str, Tally[str]] = {k: Tally() for k in get_registry().kinds}
    for kind, status in Saga.objects.filter(
        stopped_at__gte=now - RATE_WINDOW, stopped_at__lte=now
    ).values_list("kind", "status"):
        by_kind.setdefault(kind, Tally())[status] += 1
    return by_kind


def compensation_rate(now: datetime) -> Series:
    """Per kind: the share of sagas finished in the last hour that were compensated."""
    out: Series = []
    for kind, tally in _finished(now).items():
        total = sum(tally.values())
        out.append(({"kind": kind}, tally[SagaStatus.COMPENSATED] / total if total else None))
    return out


def success_rate(now: datetime) -> Series:
    """Per kind: the share of sagas finished in the last hour that succeeded."""
    out: Series = []
    for kind, tally in _finished(now).items():
        total = sum(tally.values())
        out.append(({"kind": kind}, tally[SagaStatus.SUCCEEDED] / total if total else None))
    return out


def failures_by_step(now: datetime) -> Series:
    """Per kind and step: sagas that ended badly in the last hour, by the step they ended at."""
    rows = Tally(
        Saga.objects.filter(
            stopped_at__gte=now - RATE_WINDOW, stopped_at__lte=now, status__in=FAILED
        ).values_list("kind", "current_step")
    )
    return [({"kind": k, "step": step}, float(n)) for (k, step), n in rows.items()]


def link_stuck(labels: dict[str, str]) -> str | None:
    """What a step SLA alert is about: the one stuck saga's case page when only one is,
    else the kind's list of stuck sagas at that step."""
    kind = labels.get("kind")
    if not kind or kind not in get_registry().kinds:
        return None
    stuck = Saga.objects.filter(kind=kind, status__in=ACTIVE_STATUSES, step_deadline__lt=now())
    if labels.get("step"):
        stuck = stuck.filter(current_step=labels["step"])
    found = list(stuck.order_by("step_deadline")[:2])
    if len(found) == 1 and (url := found[0].get_absolute_url()):
        return url
    query = {"stuck": "1", **({"step": labels["step"]} if labels.get("step") else {})}
    return f"{reverse('sagas:list', args=[kind])}?{urlencode(query)}"


def link(labels: dict[str, str]) -> str | None:
    """The saga list of the kind, filtered to the step the series is about."""
    kind = labels.get("kind")
    if not kind or kind not in get_registry().kinds:
        return None
    query = {"step": labels["step"]} if labels.get("step") else {}
    url = reverse("sagas:list", args=[kind])
    return f"{url}?{urlencode(query)}" if query else url


def sync_lag_seconds(now: datetime) -> Series:
    """Per kind: seconds since the read model last synced successfully (None: never)."""
    from .models import SyncState

    last = dict(SyncState.objects.values_list("kind", "last_success_at"))
    out: Series = []
    for k in get_registry().kinds:
        synced = last.get(k)
        out.append(({"kind": k}, (now - synced).total_seconds() if synced else None))
    return out
