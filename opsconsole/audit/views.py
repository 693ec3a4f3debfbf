"""The audit page (admins): filter by who, action, target, ticket, time; CSV export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from opsconsole import plugins
from opsconsole.identity.roles import ADMIN, actor_for, role_required
from opsconsole.web.csv import csv_response
from opsconsole.web.http import HtmxHttpRequest
from opsconsole.web.pagination import each_row, keep_params, keyset_page

from .filters import TARGET_TYPES, AuditFilterForm, apply_filters
from .log import record
from .models import PUBLIC_FIELDS, AuditEvent

PAGE_SIZE = 50
CSV_COLUMNS = list(PUBLIC_FIELDS)


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    form = AuditFilterForm(request.GET or None)
    queryset: QuerySet[AuditEvent] = AuditEvent.objects.all()
    if form.is_bound and form.is_valid():
        queryset = apply_filters(queryset, form.cleaned_data)
    elif form.is_bound:
        queryset = queryset.none()
    return form, queryset


@require_GET
@role_required(ADMIN)
def index(request: HtmxHttpRequest) -> HttpResponse:
    form, queryset = _filtered(request)
    # Keyset pages by id (newest first): constant cost however long the log grows. The
    # link to older events carries `before=<id>`: the page after that id, newest first.
    before = request.GET.get("before")
    page = keyset_page(queryset, after=before, size=PAGE_SIZE)
    older = keep_params(request.GET, before=page.next_cursor) if page.next_cursor else None
    for event in page.rows:
        # Each target linked to its page, where the feature owning it says how.
        setattr(event, "target_url", plugins.target_url(event.target_type, event.target_id))  # noqa: B010
    return render(
        request,
        "audit/index.html",
        {
            "form": form,
            # Each target linked to its page, where the feature owning it says how.
            "events": page.rows,
            "older_query": older,
            "newest_query": keep_params(request.GET, before=None),
            "paged": bool(before) and not page.bad_cursor,
            "target_types": TARGET_TYPES,
        },
    )


def _csv_rows(queryset: QuerySet[AuditEvent]) -> Iterator[list[Any]]:
    for event in each_row(queryset, chunk=2000):
        yield [
            event.at.isoformat(),
            *[getattr(event, c) for c in CSV_COLUMNS[1:-1]],
            json.dumps(event.details, sort_keys=True) if event.details else "",
        ]


@require_GET
@role_required(ADMIN)
def export_csv(request: HtmxHttpRequest) -> StreamingHttpResponse:
    form, queryset = _filtered(request)
    filters = {k: v for k, v in request.GET.items() if v}
    record(
        actor_for(request),
        "audit.export",
        result=AuditEvent.SUCCEEDED,
        target_type="audit",
        details={"filters": filters},
    )
    response = csv_response("opsconsole-audit", CSV_COLUMNS, _csv_rows(queryset))
    response["Cache-Control"] = "no-store"
    return response
