"""Every change to the saga read model goes through here: syncs, a saga's refresh, and the
case page's history and DynamoDB caches."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from opsconsole.aws import dynamodb, stepfunctions
from opsconsole.aws.errors import AwsError
from opsconsole.aws.stepfunctions import HISTORY_MAX_EVENTS, HistoryEvent
from opsconsole.registry import SagaKind, get_registry
from opsconsole.web.masking import registry_token_keys, scrub_tokens_in_text

from . import sync
from .models import Saga, SagaDetail
from .timeline import (
    Timeline,
    build_timeline,
    event_from_json,
    event_to_json,
    events_from_json,
    parse_json,
    position,
)

log = logging.getLogger(__name__)

# A terminal saga's business items are re-read at most this often (they rarely change once
# the saga ended: an operator's remediation does); a running saga's on every view.
ITEMS_TTL_TERMINAL = timedelta(seconds=30)


def sync_all_kinds(
    *, kind: str | None = None, full: bool = False, progress: sync.ProgressFn | None = None
) -> list[sync.KindSyncResult]:
    """Sync the read model of every saga kind (or one) from AWS."""
    return sync.sync_all(kind=kind, full=full, progress=progress)


def refresh_saga(saga: Saga) -> Saga:
    """Re-read one execution from AWS now (after a redrive, a restart, or on demand)."""
    registry = get_registry()
    kind = registry.kinds[saga.kind]
    env = registry.env_for(kind)
    execution = stepfunctions.describe_execution(saga.execution_arn, env)
    if execution is None:
        return saga
    tail = stepfunctions.get_history_tail(saga.execution_arn, sync.TAIL_EVENTS, env)
    rules = sync.rules_for(kind, registry)
    statuses, _ = sync.fetch_business_statuses(kind, [saga.business_key], env)
    now = timezone.now()
    saga.stopped_at = execution.stopped_at
    saga.last_error = (execution.error or "")[:255]
    saga.last_cause = (execution.cause or "")[:4000]
    saga.redrive_count = execution.redrive_count or 0
    sync.apply_position(
        saga,
        kind,
        position(build_timeline(tail, rules), rules.known_steps),
        sfn_status=execution.status,
        business_status=statuses.get(saga.business_key),
        now=now,
    )
    saga.save()
    if execution.status == "RUNNING":
        # A redriven execution continues its history: the cache is no longer final.
        SagaDetail.objects.filter(saga=saga).update(history_complete=False)
    return saga


# --- the case page ---------------------------------------------------------------------

# What an execution runs with never changes: kept a day, so a case page asks AWS once a day
# at most per run (and not at all while the reader stays on it).
DEFINITION_TTL_SECONDS = 24 * 3600


def state_machine_definition(saga: Saga) -> tuple[dict[str, Any] | None, str]:
    """The definition (ASL) the saga's run executes with (DescribeStateMachineForExecution:
    the one it started with, not a later deploy's), cached; (None, why) when AWS cannot
    say."""
    from django.core.cache import cache

    key = f"sm-definition:run:{saga.execution_arn}"
    found = cache.get(key)
    if found is not None:
        return found, ""
    registry = get_registry()
    kind = registry.kinds[saga.kind]
    try:
        definition = stepfunctions.execution_definition(saga.execution_arn, registry.env_for(kind))
    except AwsError as exc:
        return None, str(exc)
    except ValueError:
        return None, "the definition is not JSON"
    cache.set(key, definition, DEFINITION_TTL_SECONDS)
    return definition, ""


@dataclass(frozen=True)
class StatusWrite:
    """A business status written by a step (read from the step's DynamoDB parameters)."""

    at: datetime
    step: str
    item: str
    status: str
    applied: bool


@dataclass
class CaseData:
    saga: Saga
    kind: SagaKind
    timeline: Timeline
    items: list[dict[str, Any]]
    status_writes: list[StatusWrite]
    history_calls: int = 0
    history_from_cache: bool = False
    history_truncated: bool = False
    aws_error: str = ""
    # How old what the page shows is, when it could not be refreshed.
    data_as_of: datetime | None = None
    items_fetched_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


def _scrub(event: HistoryEvent, token_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    """An event as stored: task tokens never reach the database or a page."""
    raw = event_to_json(event)
    details = {}
    for key, value in (raw.get("details") or {}).items():
        details[key] = (
            scrub_tokens_in_text(value, token_keys=token_keys) if isinstance(value, str) else value
        )
    raw["details"] = details
    return raw


def _merge(cached: list[HistoryEvent], new: list[HistoryEvent]) -> list[HistoryEvent]:
    by_id = {e.id: e for e in cached}
    by_id.update({e.id: e for e in new})
    return [by_id[i] for i in sorted(by_id)]


def cached_input(saga: Saga) -> Any:
    """The execution input from the cached history (None before the history was read):
    what masking seeds its sensitive values from when no timeline is at hand."""
    # The first event only: the database reads it out of the JSON, instead of handing over a
    # history of up to 25,000 events for one field.
    first = SagaDetail.objects.filter(saga=saga).values_list("history__0", flat=True).first()
    if not isinstance(first, dict) or first.get("type") != "ExecutionStarted":
        return None
    return parse_json((first.get("details") or {}).get("input"))


def _save_detail(saga: Saga, detail: SagaDetail, fresh: bool) -> None:
    if fresh:
        # Two first views at once both create it: the second one updates.
        SagaDetail.objects.update_or_create(
            saga=saga,
            defaults={
                f.name: getattr(detail, f.name)
                for f in SagaDetail._meta.concrete_fields
                if f.name != "saga"
            },
        )
    else:
        detail.save()
    saga.sagadetail = detail  # type: ignore[attr-defined]  # the reverse one-to-one


def _read_items(
    saga: Saga, detail: SagaDetail, kind: SagaKind, env: Any, now: datetime
) -> tuple[list[dict[str, Any]], bool, str]:
    """The business items of the saga's key: cached for a terminal saga for a short while,
    else read now; on an AWS error, the last ones read (and the error)."""
    fresh = (
        detail.items_fetched_at is not None
        and not saga.is_active
        and now - detail.items_fetched_at < ITEMS_TTL_TERMINAL
    )
    if fresh or not kind.table:
        return list(detail.items or []), False, ""
    try:
        found = dynamodb.query_partition(
            kind.table, kind.pk_attribute, kind.pk_for(saga.business_key), env=env
        )
    except AwsError as exc:
        return list(detail.items or []), False, f"business items: {exc}"
    items = [i.values for i in found]
    detail.items = items
    detail.items_fetched_at = now
    return items, True, ""


def _status_of(items: list[dict[str, Any]], kind: SagaKind) -> str | None:
    for sk in kind.status_item_keys:
        for item in items:
            if str(item.get(kind.sort_key_attribute)) == sk:
                return str(item.get(kind.status_attribute, "") or "")[:40]
    return None


@dataclass(frozen=True)
class Business:
    status: str
    items: list[dict[str, Any]]
    fetched_at: datetime | None
    error: str = ""


def load_business(saga: Saga, *, now: datetime | None = None) -> Business:
    """The business status and items of a saga (the API's summary), cached like the page's."""
    now = now or timezone.now()
    registry = get_registry()
    kind = registry.kinds[saga.kind]
    detail = SagaDetail.objects.filter(saga=saga).first()
    fresh_detail = detail is None
    if detail is None:
        detail = SagaDetail(saga=saga)
    items, live, error = _read_items(saga, detail, kind, registry.env_for(kind), now)
    status = _status_of(items, kind)
    if live:
        _save_detail(saga, detail, fresh_detail)
        if status is not None and status != saga.business_status:
            saga.business_status = status
            sync.apply_position(
                saga, kind, None, sfn_status=saga.sfn_status, business_status=status, now=now
            )
            saga.save()
    return Business(
        status=status if status is not None else saga.business_status,
        items=sorted(items, key=lambda i: str(i.get(kind.sort_key_attribute, ""))),
        fetched_at=detail.items_fetched_at,
        error=error,
    )


def load_case(saga: Saga, *, now: datetime | None = None) -> CaseData:
    """The timeline and business items of a saga: from the cache when final, else live (and
    cached); from the cache with a note of its age when AWS cannot be reached."""
    now = now or timezone.now()
    registry = get_registry()
    kind = registry.kinds[saga.kind]
    env = registry.env_for(kind)
    rules = sync.rules_for(kind, registry)
    detail: SagaDetail | None = getattr(saga, "sagadetail", None)
    fresh_detail = detail is None
    if detail is None:
        detail = SagaDetail(saga=saga)
    cached = events_from_json(detail.history) if detail.history else []
    errors: list[str] = []
    history_calls = 0
    changed_detail = False
    final = detail.history_complete and saga.sfn_status != "RUNNING"

    if not final:
        try:
            after = cached[-1].id if cached else 0
            new, history_calls = stepfunctions.get_history_after(saga.execution_arn, after, env)
            token_keys = registry_token_keys()
            events = _merge(cached, [_scrub_event(e, token_keys) for e in new])
            timeline = build_timeline(events, rules)
            detail.history = [event_to_json(e) for e in events]
            detail.history_event_count = len(events)
            detail.history_complete = not timeline.is_running
            detail.history_truncated = len(events) >= HISTORY_MAX_EVENTS
            detail.history_fetched_at = now
            changed_detail = True
        except AwsError as exc:
            errors.append(f"execution history: {exc}")
            timeline = build_timeline(cached, rules)
    else:
        timeline = build_timeline(cached, rules)

    items, items_live, items_error = _read_items(saga, detail, kind, env, now)
    if items_live:
        changed_detail = True
    if items_error:
        errors.append(items_error)

    if changed_detail:
        _save_detail(saga, detail, fresh_detail)

    if history_calls or items_live:
        _update_read_model(saga, kind, timeline, items if items_live else None, now)

    as_of = None
    if errors:
        candidates = [d for d in (detail.history_fetched_at, detail.items_fetched_at) if d]
        as_of = min(candidates) if candidates else saga.synced_at
    return CaseData(
        saga=saga,
        kind=kind,
        timeline=timeline,
        items=sorted(items, key=lambda i: str(i.get(kind.sort_key_attribute, ""))),
        status_writes=status_writes(timeline, kind.status_attribute, kind.sort_key_attribute),
        history_calls=history_calls,
        history_from_cache=history_calls == 0,
        history_truncated=detail.history_truncated,
        aws_error="; ".join(errors),
        data_as_of=as_of,
        items_fetched_at=detail.items_fetched_at,
    )


def _scrub_event(event: HistoryEvent, token_keys: tuple[str, ...] = ()) -> HistoryEvent:
    return event_from_json(_scrub(event, token_keys))


def _update_read_model(
    saga: Saga,
    kind: SagaKind,
    timeline: Timeline,
    items: list[dict[str, Any]] | None,
    now: datetime,
) -> None:
    """What the case page just learnt live also corrects the row the lists show."""
    business = _status_of(items, kind) if items is not None else None
    before = _listed(saga)
    sfn_status = saga.sfn_status
    if timeline.event_count and timeline.status != "RUNNING":
        sfn_status = timeline.status
    if timeline.ended_at and not saga.stopped_at:
        saga.stopped_at = timeline.ended_at
        if timeline.error:
            saga.last_error = timeline.error[:255]
            saga.last_cause = timeline.cause[:4000]
    sync.apply_position(
        saga,
        kind,
        position(timeline, sync.rules_for(kind).known_steps) if timeline.visits else None,
        sfn_status=sfn_status,
        business_status=business,
        now=now,
    )
    if _listed(saga) != before:
        saga.save()


def _listed(saga: Saga) -> tuple[Any, ...]:
    """The row's fields that the lists show and a live look may correct."""
    return (
        saga.status,
        saga.current_step,
        saga.business_status,
        saga.sfn_status,
        saga.callback_pending,
        saga.compensation_ran,
        saga.compensation_failed_step,
    )


_SET_RE = re.compile(r"(#?[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)")


def _attr(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        inner = next(iter(value.values()))
        return None if isinstance(inner, dict | list) else str(inner)
    return None if value is None or isinstance(value, dict | list) else str(value)


def status_writes(
    timeline: Timeline, status_attribute: str = "status", sort_key: str = "sk"
) -> list[StatusWrite]:
    """Business status changes the saga's own DynamoDB writes made, in order (pure).

    DynamoDB keeps only the current value of an item; the history of the steps that wrote it
    (`putItem` / `updateItem` parameters) shows every transition and who made it."""
    out = []
    for visit in timeline.visits:
        if "dynamodb" not in visit.resource or not visit.parameters:
            continue
        params = parse_json(visit.parameters)
        if not isinstance(params, dict):
            continue
        key = params.get("Key") or {}
        item = params.get("Item") or {}
        sk = _attr(key.get(sort_key)) or _attr(item.get(sort_key)) or ""
        value = None
        if item and status_attribute in item:
            value = _attr(item[status_attribute])
        expression = str(params.get("UpdateExpression") or "")
        if value is None and expression:
            names = params.get("ExpressionAttributeNames") or {}
            values = params.get("ExpressionAttributeValues") or {}
            for name, placeholder in _SET_RE.findall(expression):
                if names.get(name, name) == status_attribute:
                    value = _attr(values.get(placeholder))
                    break
        if value is None:
            continue
        out.append(
            StatusWrite(
                at=visit.exited_at or visit.entered_at,
                step=visit.name,
                item=sk,
                status=value,
                applied=visit.outcome in ("succeeded", "retried"),
            )
        )
    return out
