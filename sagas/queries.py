"""Reading the read model: filters from the URL, keyset pages, status counts, search.

Lists never call AWS and never use OFFSET: a page is "the 50 sagas after this one" on the
(started_at, id) order, which the indexes serve directly however deep the page.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.core.cache import cache
from django.db.models import Count, Q, QuerySet, Sum
from django.http import QueryDict
from django.utils import timezone

from opsconsole.registry import Registry, SagaKind
from opsconsole.web import pagination
from opsconsole.web.filters import WindowForm, window_field
from opsconsole.web.http import row_id

from .models import ACTIVE_STATUSES, Saga, SagaCount, SagaStatus, SagaTicket, day_of, day_start

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
RANGE_CHOICES = [
    ("", "Any time"),
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
]
ORDER_CHOICES = [("newest", "Newest first"), ("oldest", "Oldest first")]
# Only the columns a list row shows.
LIST_FIELDS = (
    "id",
    "kind",
    "execution_name",
    "business_key",
    "correlation_id",
    "ticket",
    "status",
    "sfn_status",
    "current_step",
    "step_deadline",
    "started_at",
    "stopped_at",
    "business_status",
    "last_error",
)


class SagaFilterForm(WindowForm):
    """The filters of a list page; every one lives in the URL."""

    window_error_field = "until"
    window_message = "must be after From"

    q = forms.CharField(required=False, max_length=200, strip=True, label="Search")
    status = forms.ChoiceField(
        required=False, choices=[("", "All"), *SagaStatus.choices], label="Status"
    )
    step = forms.CharField(required=False, max_length=80, strip=True, label="Current step")
    range = forms.ChoiceField(required=False, choices=RANGE_CHOICES, label="Started")
    since = window_field("From")
    until = window_field("To")
    stuck = forms.BooleanField(required=False, label="Stuck (past the step's SLA)")
    waiting = forms.BooleanField(required=False, label="Waiting for approval")
    order = forms.ChoiceField(required=False, choices=ORDER_CHOICES, label="Sort")


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    step: str = ""
    since: datetime | None = None
    until: datetime | None = None
    stuck: bool = False
    waiting: bool = False
    order: str = "newest"
    range: str = ""

    def without_status(self) -> Filters:
        return Filters(**{**self.__dict__, "status": ""})

    @property
    def active(self) -> bool:
        return bool(self.q or self.step or self.since or self.until or self.stuck or self.waiting)


def parse_filters(params: QueryDict, now: datetime | None = None) -> tuple[Filters, dict]:
    """Filters from a query string, and the form's errors (bad values are dropped, not 500)."""
    form = SagaFilterForm(params)
    form.is_valid()
    data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
    since = data.get("since")
    rng = data.get("range") or ""
    if rng in RANGES and not since:
        since = (now or timezone.now()) - RANGES[rng]
    return (
        Filters(
            q=data.get("q") or "",
            status=data.get("status") or "",
            step=data.get("step") or "",
            since=since,
            until=data.get("until"),
            stuck=bool(data.get("stuck")),
            waiting=bool(data.get("waiting")),
            order=data.get("order") or "newest",
            range=rng,
        ),
        dict(form.errors),
    )


def search_q(q: str, registry: Registry | None = None) -> Q:
    """Exact matches on every id a person types, plus business keys starting with it."""
    q = q.strip()
    keys = {q}
    if registry is not None:
        # "ORDER#8842" finds order 8842: people paste DynamoDB keys too.
        for kind in registry.kinds.values():
            prefix, _, suffix = kind.key_template.partition("{key}")
            if q.startswith(prefix) and q.endswith(suffix) and len(q) > len(prefix + suffix):
                keys.add(q[len(prefix) : len(q) - len(suffix) if suffix else None])
    cond = (
        Q(business_key__in=keys)
        | Q(correlation_id=q)
        | Q(execution_name=q)
        | Q(ticket=q)
        | Q(execution_arn=q)
        # Tickets attached by a person or the API (sagas/tickets.py).
        | Q(pk__in=SagaTicket.objects.filter(number=q).values("saga_id"))
    )
    if len(q) >= 3:
        # A range, not LIKE: the business key index serves it.
        cond |= Q(business_key__gte=q, business_key__lt=q + "\U0010ffff")
    return cond


def filtered(
    kind: str | None,
    filters: Filters,
    *,
    now: datetime | None = None,
    registry: Registry | None = None,
) -> QuerySet[Saga]:
    qs = Saga.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    if filters.q:
        qs = qs.filter(search_q(filters.q, registry))
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.waiting:
        qs = qs.filter(status=SagaStatus.WAITING)
    if filters.step:
        qs = qs.filter(current_step=filters.step)
    if filters.since:
        qs = qs.filter(started_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(started_at__lt=filters.until)
    if filters.stuck:
        qs = qs.filter(status__in=ACTIVE_STATUSES, step_deadline__lt=now or timezone.now())
    return qs


COUNTS_TTL_SECONDS = 10


def _counts_key(kind: str | None, filters: Filters, version: str) -> str:
    f = filters.without_status()
    # A relative range is its token, not its moving start, so repeated views share a key.
    since = f.range if f.range in RANGES else (f.since.isoformat() if f.since else "")
    raw = "|".join(
        [
            kind or "*",
            f.q,
            f.step,
            since,
            f.until.isoformat() if f.until else "",
            "stuck" if f.stuck else "",
            "waiting" if f.waiting else "",
            version,
        ]
    )
    return "saga-counts:" + hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest()


def status_counts(
    kind: str | None,
    filters: Filters,
    *,
    now: datetime | None = None,
    registry: Registry | None = None,
    version: str | None = None,
) -> dict[str, int]:
    """How many sagas per status under the other filters (the tabs), in one query.

    Whole days and hours come from the SagaCount summary (exact as of the last commit),
    the minutes at the edges of a time window are counted on the indexed rows, and so are
    the deadlines of the current hour under "stuck" and a search (which narrows to few rows
    the summary cannot tell apart). With a `version` (the kind's last sync), the counts are also
    kept for a few seconds."""
    key = _counts_key(kind, filters, version) if version is not None else None
    if key is not None:
        cached = cache.get(key)
        if cached is not None:
            return dict(cached)
    f = filters.without_status()
    if f.q:
        rows: Any = (
            filtered(kind, f, now=now, registry=registry)
            .values("status")
            .annotate(n=Count("*"))
            .order_by()
        )
    else:
        rows = _summed_counts(kind, f, now or timezone.now())
    summed: dict[str, int] = {}
    for r in rows:
        summed[r["status"]] = summed.get(r["status"], 0) + r["n"]
    # Rows and summary change in one transaction and this is one statement (one snapshot),
    # so a day's total minus its live part cannot go below zero unless something wrote the
    # rows around the summary (a queryset update), until the next sync of that day.
    by_status = {status: n for status, n in summed.items() if n > 0}
    if key is not None:
        cache.set(key, by_status, COUNTS_TTL_SECONDS)
    return by_status


_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


def _floor(moment: datetime, unit: timedelta) -> datetime:
    return SagaCount.hour_of(moment) if unit == _HOUR else day_start(day_of(moment))


def _ceil(moment: datetime, unit: timedelta) -> datetime:
    floor = _floor(moment, unit)
    return floor if floor == moment else floor + unit


@dataclass
class _Cover:
    """A started_at window as summary rows and signed live intervals: whole days from the
    day rows, whole hours from the hour rows, the minutes at each edge live (None: open)."""

    days: tuple[datetime | None, datetime | None] | None = None
    hours: list[tuple[datetime, datetime]] = field(default_factory=list)
    live: list[tuple[int, datetime, datetime]] = field(default_factory=list)
    # The hour-aligned window the summary rows cover ("stuck" adds its current hour live).
    span: tuple[datetime | None, datetime | None] | None = None


def _cover(since: datetime | None, until: datetime | None) -> _Cover:
    cover = _Cover()
    if since is not None and until is not None and until <= _ceil(since, _HOUR):
        cover.live.append((1, since, until))  # within one hour: it is all live
        return cover
    # To hour boundaries: whichever side of an edge is shorter is counted live, added to
    # the window or taken from its hour, so at most half an hour of rows per edge.
    start, end = since, until
    if since is not None and since != _floor(since, _HOUR):
        if _ceil(since, _HOUR) - since <= _HOUR / 2:
            start = _ceil(since, _HOUR)
            cover.live.append((1, since, start))
        else:
            start = _floor(since, _HOUR)
            cover.live.append((-1, start, since))
    if until is not None and until != _floor(until, _HOUR):
        if until - _floor(until, _HOUR) <= _HOUR / 2:
            end = _floor(until, _HOUR)
            cover.live.append((1, end, until))
        else:
            end = _ceil(until, _HOUR)
            cover.live.append((-1, until, end))
    cover.span = (start, end)
    # Then the whole days inside, and the hours left over at either side.
    first = _ceil(start, _DAY) if start is not None else None
    last = _floor(end, _DAY) if end is not None else None
    if first is not None and last is not None and first >= last:
        if start is not None and end is not None and start < end:
            cover.hours.append((start, end))
        return cover
    cover.days = (first, last)
    if start is not None and first is not None and start < first:
        cover.hours.append((start, first))
    if end is not None and last is not None and last < end:
        cover.hours.append((last, end))
    return cover


def _summed_counts(kind: str | None, f: Filters, now: datetime) -> QuerySet[Any]:
    """Per-status counts as a UNION ALL of summary rows and signed live parts: the tab
    counts of a filter set the summary can answer, in one query whatever the window."""
    summary = SagaCount.objects.all()
    live = Saga.objects.all()
    if kind:
        summary = summary.filter(kind=kind)
        live = live.filter(kind=kind)
    if f.waiting:
        summary = summary.filter(status=SagaStatus.WAITING)
        live = live.filter(status=SagaStatus.WAITING)
    if f.step:
        summary = summary.filter(current_step=f.step)
        live = live.filter(current_step=f.step)
    hour = SagaCount.hour_of(now)
    if f.stuck:
        # Deadlines in whole hours gone by from the summary, this hour's live (below).
        summary = summary.filter(status__in=ACTIVE_STATUSES, deadline_hour__lt=hour)
        live = live.filter(status__in=ACTIVE_STATUSES, step_deadline__lt=now)
    nothing = summary.none().values("status").annotate(n=Sum("n")).order_by()
    if f.since and f.until and f.until <= f.since:
        return nothing

    cover = _cover(f.since, f.until)
    sums: list[QuerySet[Any]] = []
    if cover.days is not None:
        first, last = cover.days
        days = summary.filter(hour__isnull=True)
        if first is not None:
            days = days.filter(day__gte=first.date())
        if last is not None:
            days = days.filter(day__lt=last.date())
        sums.append(days)
    sums.extend(summary.filter(hour__gte=lo, hour__lt=hi) for lo, hi in cover.hours)
    parts = [
        (sign, live.filter(started_at__gte=lo, started_at__lt=hi)) for sign, lo, hi in cover.live
    ]
    if f.stuck and cover.span is not None:
        lo, hi = cover.span
        recent = live.filter(step_deadline__gte=hour)
        if lo is not None:
            recent = recent.filter(started_at__gte=lo)
        if hi is not None:
            recent = recent.filter(started_at__lt=hi)
        parts.append((1, recent))
    members = [qs.values("status").annotate(n=Sum("n")).order_by() for qs in sums] + [
        qs.values("status").annotate(n=Count("*") * sign).order_by() for sign, qs in parts
    ]
    if not members:
        return nothing
    return members[0].union(*members[1:], all=True) if len(members) > 1 else members[0]


def keyset_page(
    qs: QuerySet[Saga],
    *,
    order: str = "newest",
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
    fields: tuple[str, ...] | None = LIST_FIELDS,
) -> pagination.Page[Saga]:
    """One page after (or before) a cursor on (started_at, id), without OFFSET."""
    if fields:
        qs = qs.only(*fields)
    return pagination.keyset_page(
        qs,
        key="started_at",
        newest_first=order != "oldest",
        after=after,
        before=before,
        size=size,
    )


def find_saga(reference: str, registry: Registry) -> Saga | None:
    """A saga by console id, execution ARN, execution name, or `<kind>:<business key>`
    (the newest execution of that key)."""
    ref = reference.strip()
    if not ref:
        return None
    if (pk := row_id(ref)) is not None:
        found = Saga.objects.filter(pk=pk).first()
        if found is not None:
            return found
    if ref.startswith("arn:"):
        return Saga.objects.filter(execution_arn=ref).first()
    kind_key, sep, business_key = ref.partition(":")
    if sep and kind_key in registry.kinds:
        return (
            Saga.objects.filter(kind=kind_key, business_key=business_key)
            .order_by("-started_at", "-id")
            .first()
        )
    return Saga.objects.filter(execution_name=ref).order_by("-started_at", "-id").first()


def step_choices(kind: SagaKind) -> list[str]:
    """The steps a list can filter on, from the registry (forward, then compensation)."""
    seen = dict.fromkeys([*kind.steps, *sorted(kind.compensation_steps)])
    return list(seen)
