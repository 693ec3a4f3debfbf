"""Archive replays: what the archives hold, the impact of replaying a window, starting,
following and cancelling a replay. Each start and cancel is audited; a finished replay is
told as a `replay.finished` event."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from opsconsole import events as domain_events
from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.aws import errors as aws_errors
from opsconsole.aws import events as eventbridge
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.identity.roles import ADMIN, OPERATOR
from opsconsole.registry import get_registry
from sagas.models import Saga

from ..config import EventArchive, archives
from .errors import ArchiveNotFound, InvalidReplay, NotAnOperator, ReplayError, ReplayNotFound
from .models import ACTIVE_REPLAY_STATES, ArchiveState, ReplayRecord

logger = logging.getLogger(__name__)

ARCHIVING_LAG = timedelta(minutes=10)  # AWS: replay only events older than about this
MAX_TICKET = 64
MAX_TEXT = 2000


def _env() -> AwsEnvironment | None:
    registry = get_registry()
    return next(iter(registry.environments.values()), None)


def find_archive(name: str) -> EventArchive:
    for archive in archives(get_registry()):
        if archive.name == name:
            return archive
    raise ArchiveNotFound(archive=name)


@dataclass(frozen=True)
class ArchiveRow:
    config: EventArchive
    live: ArchiveState | None  # the last numbers read (None: never read yet)

    @property
    def error(self) -> str:
        return self.live.error if self.live else ""


def archive_rows() -> list[ArchiveRow]:
    """Each configured archive with its state, event count, size and retention, as last
    polled (pages never wait on AWS; `poll_archives` keeps them fresh)."""
    known = {a.name: a for a in ArchiveState.objects.all()}
    return [ArchiveRow(a, known.get(a.name)) for a in archives(get_registry())]


def poll_archives() -> int:
    """Read every configured archive's numbers; keep the last good ones when a read fails."""
    now = timezone.now()
    configured = archives(get_registry())
    try:
        found = {a.name: a for a in eventbridge.list_archives(_env())}
    except aws_errors.AwsError as exc:
        for a in configured:
            ArchiveState.objects.update_or_create(
                name=a.name, defaults={"checked_at": now, "error": str(exc)[:300]}
            )
        return 0
    for a in configured:
        live = found.get(a.archive)
        defaults: dict[str, Any] = {"checked_at": now, "error": "", "found": live is not None}
        if live is not None:
            defaults.update(
                arn=live.arn,
                source_arn=live.source_arn,
                state=live.state,
                event_count=live.event_count,
                size_bytes=live.size_bytes,
                retention_days=live.retention_days,
                read_at=now,
            )
        ArchiveState.objects.update_or_create(name=a.name, defaults=defaults)
    return len(configured)


# --- the impact preview --------------------------------------------------------------------


@dataclass
class ReplayPreview:
    archive: EventArchive
    start: datetime
    end: datetime
    rules: list[eventbridge.Rule] = field(default_factory=list)
    chosen_rules: list[str] = field(default_factory=list)  # ARNs; empty = every rule
    sagas_by_kind: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    archive_arn: str = ""
    bus_arn: str = ""

    @property
    def sagas_started(self) -> int:
        return sum(self.sagas_by_kind.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "archive": self.archive.name,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "rules": [
                {"name": r.name, "arn": r.arn, "targets": [t.arn for t in r.targets]}
                for r in self.rules
                if not self.chosen_rules or r.arn in self.chosen_rules
            ],
            "sagas_started_in_window": self.sagas_by_kind,
            "warnings": self.warnings,
        }


def preview(
    archive_name: str,
    start: datetime | None,
    end: datetime | None,
    rule_arns: list[str] | None = None,
    now: datetime | None = None,
) -> ReplayPreview:
    """Validate the window against now and the archive's retention; list what will fire."""
    now = now or timezone.now()
    archive = find_archive(archive_name)
    if start is None or end is None:
        raise InvalidReplay(problem="window_missing", field="start")
    if start >= end:
        raise InvalidReplay(problem="window_order", field="end")
    if end > now + timedelta(seconds=1):
        raise InvalidReplay(problem="future", field="end", now=now)
    try:
        live = eventbridge.describe_archive(archive.archive, _env())
    except aws_errors.AwsError as exc:
        raise InvalidReplay(problem="aws", field="archive", detail=str(exc)) from None
    if live is None:
        raise ArchiveNotFound(archive=archive_name)
    if live.retention_days and start < now - timedelta(days=live.retention_days):
        raise InvalidReplay(problem="retention", field="start", retention_days=live.retention_days)
    try:
        # An archive's own managed rule does not take replayed events back in.
        rules = [r for r in eventbridge.list_rules(archive.bus, _env()) if not r.managed]
    except aws_errors.AwsError as exc:
        raise InvalidReplay(problem="aws", field="archive", detail=str(exc)) from None
    known = {r.arn for r in rules}
    chosen = [a for a in (rule_arns or []) if a]
    unknown = [a for a in chosen if a not in known]
    if unknown:
        raise InvalidReplay(problem="unknown_rule", field="rules", rule=unknown[0])
    result = ReplayPreview(
        archive=archive,
        start=start,
        end=end,
        rules=rules,
        chosen_rules=chosen,
        archive_arn=live.arn,
        bus_arn=live.source_arn,
    )
    counts = (
        Saga.objects.filter(started_at__gte=start, started_at__lt=end)
        .values("kind")
        .annotate(n=Count("id"))
    )
    result.sagas_by_kind = {c["kind"]: c["n"] for c in counts}
    if end > now - ARCHIVING_LAG:
        result.warnings.append(
            "The window includes the last 10 minutes: archiving lags, so events that recent "
            "may not be in the archive yet and would not be replayed."
        )
    if not rules or (chosen and not any(r.arn in chosen for r in rules)):
        result.warnings.append("No rule on the bus will receive the replayed events.")
    result.warnings.append(
        "Every matching rule fires again for every event in the window: its consumers must "
        "be idempotent."
    )
    return result


# --- start, follow, cancel -------------------------------------------------------------------


def _operator(actor: Actor) -> None:
    if actor.role not in (OPERATOR, ADMIN):
        error = NotAnOperator(role=actor.role)
        audit.record(actor, "replay.start", result="refused", error=error.code)
        raise error


def replay_name(archive: str, start: datetime, end: datetime, key: str) -> str:
    digest = hashlib.sha256(f"{archive}|{start}|{end}|{key}".encode()).hexdigest()[:8]
    return f"opsconsole-{archive[:24]}-{start:%Y%m%d%H%M}-{digest}"[:64]


def start(
    archive_name: str,
    start_at: datetime | None,
    end_at: datetime | None,
    *,
    actor: Actor,
    rule_arns: list[str] | None = None,
    ticket: str = "",
    reason: str = "",
    idempotency_key: str = "",
) -> ReplayRecord:
    """Start a replay of [start, end) onto the archive's bus once (same key, same replay)."""
    _operator(actor)
    if idempotency_key:
        earlier = ReplayRecord.objects.filter(
            actor=actor.id, idempotency_key=idempotency_key[:128]
        ).first()
        if earlier is not None:
            return earlier
    if len(ticket) > MAX_TICKET:
        raise InvalidReplay(problem="ticket_too_long", field="ticket", limit=MAX_TICKET)
    try:
        impact = preview(archive_name, start_at, end_at, rule_arns)
    except ReplayError as exc:
        audit.record(
            actor,
            "replay.start",
            result="refused",
            target_type="archive",
            target_id=archive_name,
            ticket=ticket[:MAX_TICKET],
            reason=reason[:MAX_TEXT],
            error=exc.code,
            details={k: str(v) for k, v in exc.params.items()},
        )
        raise
    assert start_at is not None and end_at is not None  # noqa: S101 - preview checked them
    name = replay_name(archive_name, start_at, end_at, idempotency_key or str(timezone.now()))
    with audit.attempt(
        actor,
        "replay.start",
        target_type="replay",
        target_id=name,
        ticket=ticket[:MAX_TICKET],
        reason=reason[:MAX_TEXT],
        details=impact.as_json(),
    ) as attempt:
        try:
            with transaction.atomic():
                record = ReplayRecord.objects.create(
                    name=name,
                    archive=archive_name,
                    archive_arn=impact.archive_arn,
                    bus=impact.archive.bus,
                    window_start=start_at,
                    window_end=end_at,
                    rule_arns=impact.chosen_rules,
                    actor=actor.id,
                    ticket=ticket[:MAX_TICKET],
                    reason=reason[:MAX_TEXT],
                    idempotency_key=idempotency_key[:128],
                    preview=impact.as_json(),
                )
        except IntegrityError:
            attempt.succeeded(replayed=True)
            return ReplayRecord.objects.get(name=name)
        try:
            started = eventbridge.start_replay(
                name,
                impact.archive_arn,
                impact.bus_arn,
                start_at,
                end_at,
                impact.chosen_rules or None,
                _env(),
            )
        except aws_errors.AwsError as exc:
            _finish(record, "FAILED", f"AWS refused the replay: {exc}")
            attempt.failed(str(exc))
            raise InvalidReplay(problem="aws", field="archive", detail=str(exc)) from None
        ReplayRecord.objects.filter(pk=record.pk).update(state=started.state)
        attempt.succeeded(state=started.state)
    record.refresh_from_db()
    refresh(record)
    return record


def get(replay_id: int | str) -> ReplayRecord:
    try:
        pk = int(replay_id)
    except (TypeError, ValueError):
        raise ReplayNotFound(replay_id=str(replay_id)) from None
    found = ReplayRecord.objects.filter(pk=pk).first()
    if found is None:
        raise ReplayNotFound(replay_id=pk)
    return found


def refresh(record: ReplayRecord) -> ReplayRecord:
    """Read the replay's state and progress from DescribeReplay (best effort)."""
    if not record.is_active:
        return record
    try:
        found = eventbridge.describe_replay(record.name, _env())
    except aws_errors.AwsError as exc:
        logger.info("could not describe replay %s: %s", record.name, exc)
        return record
    now = timezone.now()
    ReplayRecord.objects.filter(pk=record.pk).update(
        last_replayed=found.last_replayed, checked_at=now, state_reason=found.reason or ""
    )
    if found.state in ACTIVE_REPLAY_STATES:
        ReplayRecord.objects.filter(pk=record.pk).update(state=found.state)
    else:
        _finish(record, found.state, found.reason or "")
    record.refresh_from_db()
    return record


def _finish(record: ReplayRecord, state: str, reason: str) -> None:
    with transaction.atomic():
        moved = ReplayRecord.objects.filter(pk=record.pk, state__in=ACTIVE_REPLAY_STATES).update(
            state=state, state_reason=reason[:2000], finished_at=timezone.now()
        )
        if moved:
            domain_events.emit(
                "replay.finished",
                target=domain_events.Target(
                    type="replay",
                    id=str(record.pk),
                    label=record.name,
                    url=f"/recovery/replays/{record.pk}/",
                ),
                data={
                    "state": state,
                    "archive": record.archive,
                    "window_start": record.window_start.isoformat(),
                    "window_end": record.window_end.isoformat(),
                    "ticket": record.ticket,
                },
            )


def poll_active(limit: int = 20) -> int:
    """Archive numbers, and the progress of the console's active replays."""
    poll_archives()
    active = ReplayRecord.objects.filter(state__in=ACTIVE_REPLAY_STATES).order_by("checked_at")
    count = 0
    for record in active[:limit]:
        refresh(record)
        count += 1
    return count


def cancel(replay_id: int | str, *, actor: Actor, reason: str = "") -> ReplayRecord:
    """Ask AWS to stop the replay (what was already replayed stays replayed)."""
    record = get(replay_id)
    _operator(actor)
    if not record.is_active:
        raise InvalidReplay(problem="not_active", field="replay", state=record.state)
    with audit.attempt(
        actor, "replay.cancel", target_type="replay", target_id=record.name, reason=reason
    ) as attempt:
        try:
            state = eventbridge.cancel_replay(record.name, _env())
        except aws_errors.AwsError as exc:
            attempt.failed(str(exc))
            raise InvalidReplay(problem="aws", field="replay", detail=str(exc)) from None
        if state in ACTIVE_REPLAY_STATES:
            ReplayRecord.objects.filter(pk=record.pk).update(state=state)
        else:
            _finish(record, state, reason or "Cancelled by an operator.")
        attempt.succeeded(state=state)
    record.refresh_from_db()
    return record


# A saga named `<prefix>-<key>-<epoch seconds>`: started for an event of that time (the
# demo's order intake names each saga after its OrderPlaced event's placement time).
_PLACED_AT = re.compile(r"-(\d{9,11})$")


def _placed_at(name: str) -> datetime | None:
    found = _PLACED_AT.search(name)
    if found is None:
        return None
    return datetime.fromtimestamp(int(found.group(1)), tz=UTC)


def sagas_started_by(record: ReplayRecord, limit: int = 200) -> list[Saga]:
    """The sagas that started while the replay ran (up to 5 minutes after it finished) for
    an event of its window: either a business key that already had a saga in the window
    (a consumer that starts a new run per event), or a saga whose execution name carries
    the time of the event that asked for it and that time lies in the window (an intake
    that names each saga after its event, so a replay only starts the sagas whose first
    delivery was lost)."""
    until = (record.finished_at or timezone.now()) + timedelta(minutes=5)
    during = Saga.objects.filter(started_at__gte=record.created_at, started_at__lt=until)
    keys = set(
        Saga.objects.filter(started_at__gte=record.window_start, started_at__lt=record.window_end)
        .values_list("business_key", flat=True)
        .distinct()[:5000]
    )
    found: list[Saga] = []
    for saga in during.order_by("-started_at", "-id")[:5000]:
        placed = _placed_at(saga.execution_name)
        if placed is not None:
            if record.window_start <= placed < record.window_end:
                found.append(saga)
        elif saga.business_key in keys:
            found.append(saga)
        if len(found) >= limit:
            break
    return found
