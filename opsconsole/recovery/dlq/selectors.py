"""Reads for the DLQ pages and API: the inbox, search, a DLQ's messages, a saga's dead
letters. Database only: no AWS call happens here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from opsconsole.registry import Registry, get_registry
from sagas.models import Saga

from ..config import DeadLetterQueue, dlqs
from ..models import DeadLetter, QueueDepth
from . import extract

SEARCH_LIMIT = 200
LIVE = (DeadLetter.PRESENT,)


@dataclass(frozen=True)
class InboxRow:
    dlq: DeadLetterQueue
    depth: QueueDepth | None
    oldest_sent_at: datetime | None  # the original enqueue time of the oldest seen message
    expires_at: datetime | None  # when that message leaves the DLQ by retention
    snapshots: int  # messages seen and still present at the last look
    sources: tuple[str, ...]

    @property
    def visible(self) -> int | None:
        return self.depth.visible if self.depth else None

    @property
    def in_flight(self) -> int | None:
        return self.depth.in_flight if self.depth else None

    @property
    def oldest_age(self) -> timedelta | None:
        return timezone.now() - self.oldest_sent_at if self.oldest_sent_at else None

    @property
    def expires_in(self) -> timedelta | None:
        return self.expires_at - timezone.now() if self.expires_at else None

    @property
    def expiry_soon(self) -> bool:
        left = self.expires_in
        return left is not None and left < timedelta(days=2)

    def sort_key(self) -> tuple[Any, ...]:
        """Worst first: holding messages, then the soonest to expire, then the deepest."""
        depth = (self.visible or 0) + (self.in_flight or 0)
        expires = self.expires_at.timestamp() if self.expires_at else float("inf")
        return (0 if depth or self.snapshots else 1, expires, -depth, self.dlq.name)


def inbox(registry: Registry | None = None) -> list[InboxRow]:
    """Every configured DLQ with its numbers, worst first."""
    registry = registry or get_registry()
    depths = {d.name: d for d in QueueDepth.objects.all()}
    stats = {
        row["dlq"]: row
        for row in DeadLetter.objects.filter(state__in=LIVE)
        .values("dlq")
        .annotate(oldest=Min("sent_at"), n=Count("id"))
    }
    rows = []
    for dlq in dlqs(registry):
        depth = depths.get(dlq.name)
        seen: dict[str, Any] = dict(stats.get(dlq.name) or {})
        oldest = seen.get("oldest")
        retention = depth.retention_seconds if depth else None
        sources = tuple(depth.sources) if depth and depth.sources else ()
        if not sources and dlq.source:
            sources = (dlq.source,)
        rows.append(
            InboxRow(
                dlq=dlq,
                depth=depth,
                oldest_sent_at=oldest,
                expires_at=oldest + timedelta(seconds=retention) if oldest and retention else None,
                snapshots=int(seen.get("n", 0)),
                sources=tuple(extract_name(s) for s in sources),
            )
        )
    return sorted(rows, key=InboxRow.sort_key)


def extract_name(url_or_arn: str) -> str:
    return url_or_arn.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


def messages_of(dlq: str, state: str | None = "live") -> QuerySet[DeadLetter]:
    qs = DeadLetter.objects.filter(dlq=dlq)
    if state == "live":
        qs = qs.filter(state__in=LIVE)
    elif state:
        qs = qs.filter(state=state)
    return qs.order_by("sent_at", "id")


_PATH_QUERY = re.compile(r"^(\$(?:\.[A-Za-z0-9_\-]+)+)\s*=\s*(.+)$")


@dataclass(frozen=True)
class Search:
    q: str
    results: list[DeadLetter]
    path: str = ""
    truncated: bool = False


def search(q: str, *, dlq: str = "", state: str = "", limit: int = SEARCH_LIMIT) -> Search:
    """Dead letters whose business key, correlation id, message id or error code is `q`
    (indexed, exact), or whose body has `value` at a JSON path (`$.data.sku=LAMP-07`)."""
    q = q.strip()
    if not q:
        return Search(q, [])
    qs = DeadLetter.objects.all()
    if dlq:
        qs = qs.filter(dlq=dlq)
    if state:
        qs = qs.filter(state=state)
    match = _PATH_QUERY.match(q)
    if match:
        path, wanted = match.group(1), match.group(2).strip().strip("\"'")
        found: list[DeadLetter] = []
        # The value must appear in the body; the path is then checked on the parsed JSON.
        for row in qs.filter(body_format="json", body__contains=wanted).order_by(
            "-last_seen_at", "-id"
        )[: limit * 5]:
            value = extract.json_path_value(extract.parse_json(row.body), path)
            if value is not None and str(value) == wanted:
                found.append(row)
                if len(found) > limit:
                    break
        return Search(q, found[:limit], path=path, truncated=len(found) > limit)
    rows = list(
        qs.filter(
            Q(business_key=q) | Q(correlation_id=q) | Q(message_id=q) | Q(error_code=q)
        ).order_by("-last_seen_at", "-id")[: limit + 1]
    )
    return Search(q, rows[:limit], truncated=len(rows) > limit)


def saga_of(letter: DeadLetter) -> Saga | None:
    """The saga a dead letter belongs to: by correlation id, else by kind and business key."""
    if letter.correlation_id:
        found = (
            Saga.objects.filter(correlation_id=letter.correlation_id)
            .order_by("-started_at")
            .first()
        )
        if found is not None:
            return found
    if letter.business_key and letter.kind:
        return (
            Saga.objects.filter(kind=letter.kind, business_key=letter.business_key)
            .order_by("-started_at")
            .first()
        )
    return None


def letters_of_saga(saga: Saga, limit: int = 50) -> list[DeadLetter]:
    """The dead letters that name this saga (correlation id, or kind and business key)."""
    match = Q(kind=saga.kind, business_key=saga.business_key)
    if saga.correlation_id:
        match |= Q(correlation_id=saga.correlation_id)
    return list(DeadLetter.objects.filter(match).order_by("-last_seen_at", "-id")[:limit])
