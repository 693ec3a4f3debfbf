"""Saga pages: a list per kind, the global search, CSV export, and the case page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from opsconsole.audit.models import AuditEvent
from opsconsole.identity.roles import VIEWER, has_role, role_required
from opsconsole.plugins import panels_for
from opsconsole.registry import SagaKind, get_registry
from opsconsole.web.csv import csv_response
from opsconsole.web.formatting import human_duration
from opsconsole.web.http import HtmxHttpRequest, htmx_target, row_id
from opsconsole.web.masking import masker, pretty
from opsconsole.web.pagination import each_row

from . import actions, graph, queries
from .models import ACTIVE_STATUSES, Saga, SagaStatus, SyncState
from .timeline import Timeline, gantt, parse_json

POLL_LIST_SECONDS = 5
POLL_CASE_SECONDS = 4


def _kind_or_404(kind: str) -> SagaKind:
    found = get_registry().kind(kind)
    if found is None:
        raise Http404(f"No saga kind {kind!r}.")
    return found


def _query(params: dict[str, Any]) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "", False)}
    return urlencode(clean, doseq=True)


def _filter_params(request: HttpRequest) -> dict[str, Any]:
    keep = ("q", "status", "step", "range", "since", "until", "stuck", "waiting", "order")
    return {k: request.GET.get(k, "") for k in keep if request.GET.get(k)}


def _row(saga: Saga, now: datetime) -> dict[str, Any]:
    """What a table row shows, computed once here (cheaper than template logic per row)."""
    return {
        "saga": saga,
        "url": case_url(saga),
        "status_label": saga.status_label,
        "age": human_duration(saga.age(now)),
        "duration": human_duration(saga.duration(now)),
        "stuck": saga.is_stuck(now),
        "active": saga.is_active,
    }


def _sync_banner(
    kinds: list[str], now: datetime, states: dict[str, SyncState]
) -> list[dict[str, Any]]:
    banners = []
    for key in kinds:
        state = states.get(key)
        if state is None:
            banners.append({"kind": key, "level": "warn", "never": True, "state": None})
            continue
        banner = state.as_banner(now)
        if banner:
            banners.append({"kind": key, **banner, "never": False, "state": state})
    return banners


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request", "HX-Target")
def saga_list(request: HtmxHttpRequest, kind: str) -> HttpResponse:
    """One kind's sagas: status tabs with counts, filters in the URL, keyset pages."""
    saga_kind = _kind_or_404(kind)
    now = timezone.now()
    registry = get_registry()
    filters, errors = queries.parse_filters(request.GET, now)
    qs = queries.filtered(kind, filters, now=now, registry=registry)
    page = queries.keyset_page(
        qs, order=filters.order, after=request.GET.get("after"), before=request.GET.get("before")
    )
    rows = [_row(s, now) for s in page.rows]
    base = reverse("sagas:list", args=[kind])
    params = _filter_params(request)
    cursors = {"after": request.GET.get("after"), "before": request.GET.get("before")}
    here = f"{base}?{_query({**params, **cursors})}"
    target = htmx_target(request)
    context: dict[str, Any] = {
        "kind": saga_kind,
        "rows": rows,
        "page": page,
        "filters": filters,
        "errors": errors,
        "here": here,
        "poll": any(r["active"] for r in rows),
        "poll_seconds": POLL_LIST_SECONDS,
        "next_url": f"{base}?{_query({**params, 'after': page.next_cursor})}"
        if page.next_cursor
        else None,
        "prev_url": f"{base}?{_query({**params, 'before': page.prev_cursor})}"
        if page.prev_cursor
        else None,
        "first_url": f"{base}?{_query(params)}",
        "on_first_page": not (request.GET.get("after") or request.GET.get("before")),
        "export_url": f"{reverse('sagas:export', args=[kind])}?{_query(params)}",
    }
    if target == "saga-rows":
        return render(request, "sagas/list.html#rows", context)
    states = {s.kind: s for s in SyncState.objects.filter(kind=kind)}
    state = states.get(kind)
    version = state.last_success_at.isoformat() if state and state.last_success_at else "never"
    counts = queries.status_counts(kind, filters, now=now, registry=registry, version=version)
    without_status = {k: v for k, v in params.items() if k != "status"}
    tabs = [
        {
            "value": "",
            "label": "All",
            "n": sum(counts.values()),
            "url": f"{base}?{_query(without_status)}",
            "current": not filters.status,
        }
    ]
    for status in SagaStatus:
        tabs.append(
            {
                "value": status.value,
                "label": status.label,
                "n": counts.get(status.value, 0),
                "url": f"{base}?{_query({**without_status, 'status': status.value})}",
                "current": filters.status == status.value,
            }
        )
    context.update(
        {
            "tabs": tabs,
            "steps": queries.step_choices(saga_kind),
            "range_choices": queries.RANGE_CHOICES,
            "order_choices": queries.ORDER_CHOICES,
            "sync_banners": _sync_banner([kind], now, states),
            "sync_state": state,
        }
    )
    if target == "saga-browser":
        return render(request, "sagas/list.html#browser", context)
    return render(request, "sagas/list.html", context)


CSV_COLUMNS = [
    "kind",
    "business_key",
    "status",
    "current_step",
    "started_at",
    "stopped_at",
    "duration_seconds",
    "correlation_id",
    "execution_name",
    "execution_arn",
    "ticket",
    "business_status",
    "last_error",
]


@require_GET
@role_required(VIEWER)
def export_csv(request: HtmxHttpRequest, kind: str) -> StreamingHttpResponse:
    """The filtered view as CSV, streamed in keyset chunks (any size, flat memory)."""
    _kind_or_404(kind)
    now = timezone.now()
    filters, _ = queries.parse_filters(request.GET, now)
    qs = queries.filtered(kind, filters, now=now, registry=get_registry())

    def rows() -> Iterator[tuple[Any, ...]]:
        for s in each_row(qs, key="started_at", newest_first=filters.order != "oldest", chunk=1000):
            yield (
                s.kind,
                s.business_key,
                s.status,
                s.current_step,
                s.started_at.isoformat(),
                s.stopped_at.isoformat() if s.stopped_at else "",
                round(s.duration(now).total_seconds(), 3),
                s.correlation_id,
                s.execution_name,
                s.execution_arn,
                s.ticket,
                s.business_status,
                s.last_error,
            )

    return csv_response(kind, CSV_COLUMNS, rows(), now=now)


@require_GET
@role_required(VIEWER)
def search(request: HtmxHttpRequest) -> HttpResponse:
    """Find sagas across kinds by order/account id, execution name, correlation id or ticket;
    one hit opens its case page."""
    registry = get_registry()
    q = (request.GET.get("q") or "").strip()[:200]
    now = timezone.now()
    context: dict[str, Any] = {"q": q, "rows": [], "page": None}
    ref_url = _search_ref(q) if q else None
    if ref_url is not None:
        return redirect(ref_url)
    if q:
        qs = queries.filtered(None, queries.Filters(q=q), now=now, registry=registry)
        page = queries.keyset_page(qs, after=request.GET.get("after"))
        if len(page.rows) == 1 and not request.GET.get("after"):
            return redirect(case_url(page.rows[0]))
        base = reverse("sagas:search")
        context.update(
            {
                "page": page,
                "rows": [_row(s, now) for s in page.rows],
                "kinds": registry.kinds,
                "next_url": f"{base}?{_query({'q': q, 'after': page.next_cursor})}"
                if page.next_cursor
                else None,
                "first_url": f"{base}?{_query({'q': q})}",
            }
        )
    return render(request, "sagas/search.html", context)


def case_url(saga: Saga) -> str:
    return saga.get_absolute_url()


def _find_case(kind: str, key: str, run: str) -> tuple[Saga | None, list[Saga]]:
    """The saga a case URL names, and every run of its key (newest first, a few)."""
    runs = list(
        Saga.objects.select_related("sagadetail")
        .filter(kind=kind, business_key=key)
        .order_by("-started_at", "-id")[:20]
    )
    if run:
        chosen = next((s for s in runs if s.execution_name == run), None)
        if chosen is None:
            chosen = (
                Saga.objects.select_related("sagadetail")
                .filter(kind=kind, business_key=key, execution_name=run)
                .first()
            )
        return chosen, runs
    return (runs[0] if runs else None), runs


def _search_ref(q: str) -> str | None:
    """Where `orders:8843` (kind, colon, business key) leads, as the API reads it."""
    kind, sep, key = q.partition(":")
    if sep and key and not q.startswith("arn:") and get_registry().kind(kind.strip()):
        return reverse("sagas:detail", args=[kind.strip(), key.strip()])
    return None


def console_url(saga: Saga, region: str) -> str:
    """The execution in the AWS console, in its own region and partition."""
    host = f"{region}.console.aws.amazon.com"
    if region.startswith("cn-"):
        host = "console.amazonaws.cn"
    elif region.startswith("us-gov-"):
        host = "console.amazonaws-us-gov.com"
    return f"https://{host}/states/home?region={region}#/v2/executions/details/{saga.execution_arn}"


def ticket_url(ticket: str) -> str | None:
    template = settings.TICKET_URL_TEMPLATE or ""
    if not ticket or "{ticket}" not in template:
        return None
    return template.replace("{ticket}", quote(ticket, safe=""))


def _visit_rows(data: actions.CaseData, mask: Any, now: datetime) -> list[dict[str, Any]]:
    rows = []
    visits = data.timeline.visits
    for v in visits:
        rows.append(
            {
                "v": v,
                "duration": human_duration(v.duration(now)),
                "over_sla": v.over_sla(now),
                "input": pretty(mask(parse_json(v.input))),
                "output": pretty(mask(parse_json(v.output))),
                "parameters": pretty(mask(parse_json(v.parameters))) if v.parameters else "",
                # Causes are free text, but often a JSON error carrying the step's payload.
                "attempts": [(a, mask(a.cause) if a.cause else "") for a in v.attempts],
                "branches": [[visits[i] for i in branch] for branch in v.branches],
            }
        )
    return rows


def _one_row_per_attempt(events: Any) -> list[AuditEvent]:
    """An action is recorded when it starts and when it ends: show it once, with how it
    ended (or as started while it runs), newest first."""
    latest: dict[Any, AuditEvent] = {}
    for event in events:  # newest first: the first seen of an attempt is its outcome
        latest.setdefault(event.attempt_id, event)
    return list(latest.values())


def _compensation_report(timeline: Timeline) -> dict[str, Any]:
    """Which compensation failed, and what was undone before it."""
    broken = timeline.failed_compensation
    if broken is None:
        return {"failed_compensation": None}
    done = [
        v.name
        for v in timeline.compensation_visits
        if not v.lane and v.outcome in ("succeeded", "retried") and v.index < broken.index
    ]
    return {"failed_compensation": broken, "undone_before": list(dict.fromkeys(done))}


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request", "HX-Target")
def case(request: HtmxHttpRequest, kind: str, key: str) -> HttpResponse:
    """One saga: facts, the timeline (picture and table), its business items, related
    actions; a running saga refreshes itself until it ends."""
    saga_kind = _kind_or_404(kind)
    saga, runs = _find_case(kind, key, request.GET.get("run", "").strip())
    if saga is None:
        # A link from before case pages went by business key named the console id.
        pk = row_id(key)
        old = Saga.objects.filter(pk=pk, kind=kind).first() if pk is not None else None
        if old is not None:
            return redirect(case_url(old), permanent=True)
        raise Http404(f"No {saga_kind.singular} {key!r}.")
    registry = get_registry()
    now = timezone.now()
    data = actions.load_case(saga, now=now)
    timeline = data.timeline
    # Values the input holds at sensitive paths are masked wherever a step copied them.
    mask = masker(saga_kind.sensitive_fields, request, seeds=[parse_json(timeline.input)])
    env = registry.env_for(saga_kind)
    saga_sla_breached = bool(
        saga_kind.saga_sla_seconds
        and saga.duration(now).total_seconds() > saga_kind.saga_sla_seconds
        and saga.status not in (SagaStatus.SUCCEEDED,)
    )
    items = [
        {
            "sk": i.get(saga_kind.sort_key_attribute, ""),
            "status": i.get(saga_kind.status_attribute, ""),
            "json": pretty(mask(i)),
        }
        for i in data.items
    ]
    context: dict[str, Any] = {
        "kind": saga_kind,
        "saga": saga,
        "data": data,
        "timeline": timeline,
        "gantt": gantt(timeline, now),
        "visits": _visit_rows(data, mask, now),
        "items": items,
        "duration": human_duration(saga.duration(now)),
        "step_for": human_duration(now - saga.step_entered_at)
        if saga.step_entered_at and saga.is_active
        else "",
        "stuck": saga.is_stuck(now),
        "saga_sla_breached": saga_sla_breached,
        "console_url": console_url(saga, env.region),
        "ticket_url": ticket_url(saga.ticket),
        "poll": saga.is_active or timeline.is_running,
        "poll_seconds": POLL_CASE_SECONDS,
        "here": case_url(saga),
        "runs": runs if len(runs) > 1 else [],
        "last_cause": mask(saga.last_cause) if saga.last_cause else "",
        "input": pretty(mask(parse_json(timeline.input))),
        "output": pretty(mask(parse_json(timeline.output))),
        "data_age": human_duration(now - data.data_as_of) if data.data_as_of else "",
        **_compensation_report(timeline),
        "history_url": reverse("sagas:history", args=[saga.kind, saga.business_key])
        + f"?{urlencode({'run': saga.execution_name})}",
    }
    # Not while AWS is failing this page already: the graph waits for the next view.
    definition, definition_error = (
        actions.state_machine_definition(saga) if not data.aws_error else (None, data.aws_error)
    )
    context["graph"] = (
        graph.layout(
            definition,
            timeline,
            compensation_steps=saga_kind.compensation_steps,
            notification_steps=saga_kind.notification_steps,
        )
        if definition
        else None
    )
    context["graph_error"] = definition_error
    if htmx_target(request) == "case-live":
        return render(request, "sagas/case.html#live", context)
    context.update(
        {
            "audit": _one_row_per_attempt(
                AuditEvent.objects.filter(
                    # Actions on the saga itself, and on what belongs to it (its approval
                    # requests, its messages), which carry its correlation id.
                    Q(
                        target_type="saga",
                        target_id__in=[str(saga.pk), saga.execution_arn, saga.ref],
                    )
                    | (
                        Q(correlation_id=saga.correlation_id)
                        if saga.correlation_id
                        else Q(pk__in=[])
                    )
                )[:100]
            )[:50],
            # Other apps' sections, each loaded from its own URL; this page names none.
            "panels": panels_for(saga.pk, lambda role: has_role(request, role)),
            "active_statuses": ACTIVE_STATUSES,
        }
    )
    return render(request, "sagas/case.html", context)


def _masked_event(event: dict[str, Any], mask: Any) -> dict[str, Any]:
    """One history event as a person may see it: payload strings parsed and masked."""
    details = {}
    for name, value in (event.get("details") or {}).items():
        parsed = parse_json(value) if isinstance(value, str) else value
        details[name] = mask(parsed)
    return {**event, "details": details}


@require_GET
@role_required(VIEWER)
def history(request: HtmxHttpRequest, kind: str, key: str) -> HttpResponse:
    """Every event of the execution's history, as JSON, masked: to read, copy or download."""
    saga_kind = _kind_or_404(kind)
    saga, _ = _find_case(kind, key, request.GET.get("run", "").strip())
    if saga is None:
        raise Http404(f"No {saga_kind.singular} {key!r}.")
    data = actions.load_case(saga)
    mask = masker(saga_kind.sensitive_fields, request, seeds=[parse_json(data.timeline.input)])
    detail = getattr(saga, "sagadetail", None)
    raw = list(detail.history) if detail is not None else []
    events = [_masked_event(e, mask) for e in raw]
    if request.GET.get("download"):
        response = HttpResponse(
            json.dumps(events, indent=2, ensure_ascii=False), content_type="application/json"
        )
        name = f"{saga.kind}-{saga.business_key}-{saga.execution_name}-history.json"
        response["Content-Disposition"] = f'attachment; filename="{quote(name, safe="-_.")}"'
        return response
    rows = [
        {
            "e": e,
            "name": str((e.get("details") or {}).get("name", "")),
            "json": json.dumps(e, indent=2, ensure_ascii=False),
        }
        for e in events
    ]
    return render(
        request,
        "sagas/history.html",
        {
            "kind": saga_kind,
            "saga": saga,
            "rows": rows,
            "case_url": case_url(saga),
            "download_url": request.path
            + "?"
            + urlencode({"run": saga.execution_name, "download": 1}),
            "all_json": json.dumps(events, indent=2, ensure_ascii=False),
            "data": data,
        },
    )
