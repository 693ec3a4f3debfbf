"""The audit page (admins): filter by who, action, target, ticket, time; CSV export."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from opsconsole.identity.roles import ADMIN, actor_for, role_required

from .filters import TARGET_TYPES, AuditFilterForm, apply_filters
from .log import record
from .models import PUBLIC_FIELDS, AuditEvent

PAGE_SIZE = 50
CSV_COLUMNS = list(PUBLIC_FIELDS)


def _filtered(request: HttpRequest) -> tuple[AuditFilterForm, Any]:
    form = AuditFilterForm(request.GET or None)
    queryset: QuerySet[AuditEvent] = AuditEvent.objects.order_by("-id")
    if form.is_bound and form.is_valid():
        queryset = apply_filters(queryset, form.cleaned_data)
    elif form.is_bound:
        queryset = queryset.none()
    return form, queryset


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_GET
@role_required(ADMIN)
def index(request: HttpRequest) -> HttpResponse:
    form, queryset = _filtered(request)
    # Keyset pages by id (newest first): constant cost however long the log grows.
    before = _int(request.GET.get("before"))
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset[: PAGE_SIZE + 1])
    has_older = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    params = request.GET.copy()
    params.pop("before", None)
    older = None
    if has_older:
        params["before"] = str(rows[-1].id)
        older = params.urlencode()
        params.pop("before")
    return render(
        request,
        "audit/index.html",
        {
            "form": form,
            "events": rows,
            "older_query": older,
            "newest_query": params.urlencode(),
            "paged": before is not None,
            "target_types": TARGET_TYPES,
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # Spreadsheets run cells starting with these as formulas: keep them text.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def _csv_rows(queryset: Any) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in queryset.iterator(chunk_size=2000):
        yield writer.writerow(
            [
                _cell(event.at.isoformat()),
                *[_cell(getattr(event, c)) for c in CSV_COLUMNS[1:-1]],
                _cell(json.dumps(event.details, sort_keys=True) if event.details else ""),
            ]
        )


@require_GET
@role_required(ADMIN)
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    form, queryset = _filtered(request)
    filters = {k: v for k, v in request.GET.items() if v}
    record(
        actor_for(request),
        "audit.export",
        result=AuditEvent.SUCCEEDED,
        target_type="audit",
        details={"filters": filters},
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(_csv_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="opsconsole-audit-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
