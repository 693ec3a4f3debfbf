"""Archive and replay pages: the archives, a replay's impact preview and start, its progress
(polled with htmx, a plain refresh without JavaScript) and cancel."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from opsconsole.errors import DomainError
from opsconsole.identity.roles import OPERATOR, VIEWER, actor_for, has_role, role_required
from opsconsole.web.http import HtmxHttpRequest
from opsconsole.web.problems import message_for

from . import actions
from .models import ReplayRecord


def _when(value: str) -> datetime | None:
    """A datetime-local field (UTC) or ISO 8601 text."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@require_GET
@role_required(VIEWER)
def archives(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "recovery/archives.html",
        {
            "rows": actions.archive_rows(),
            "replays": ReplayRecord.objects.all()[:50],
            "can_act": has_role(request, OPERATOR),
        },
    )


@require_http_methods(["GET", "POST"])
@role_required(OPERATOR)
def new_replay(request: HttpRequest, archive: str) -> HttpResponse:
    """GET: the window form (default: the hour that ended 10 minutes ago); POST step=preview:
    the impact; POST confirmed: start it."""
    try:
        config = actions.find_archive(archive)
    except DomainError:
        raise Http404("No such archive.") from None
    source = request.POST if request.method == "POST" else request.GET
    now = timezone.now().replace(second=0, microsecond=0)
    default_end = now - actions.ARCHIVING_LAG
    start = _when(source.get("start", "")) or default_end - (actions.ARCHIVING_LAG * 6)
    end = _when(source.get("end", "")) or default_end
    rules = [r for r in source.getlist("rules") if r]
    context: dict[str, Any] = {
        "archive": config,
        "start": start,
        "end": end,
        "rules": rules,
        "impact": None,
        "error": "",
        "ticket": source.get("ticket", ""),
        "reason": source.get("reason", ""),
        "idempotency_key": source.get("idempotency_key") or uuid.uuid4().hex,
    }
    if request.method == "GET" and "start" not in request.GET:
        return render(request, "recovery/replay_new.html", context)
    try:
        context["impact"] = actions.preview(archive, start, end, rules)
    except DomainError as exc:
        context["error"] = message_for(exc)
        return render(request, "recovery/replay_new.html", context, status=400)
    if request.method == "GET" or request.POST.get("confirm") != "yes":
        return render(request, "recovery/replay_new.html", context)
    try:
        record = actions.start(
            archive,
            start,
            end,
            actor=actor_for(request),
            rule_arns=rules,
            ticket=context["ticket"].strip(),
            reason=context["reason"].strip(),
            idempotency_key=context["idempotency_key"],
        )
    except DomainError as exc:
        context["error"] = message_for(exc)
        return render(request, "recovery/replay_new.html", context, status=400)
    messages.success(request, f"Replay {record.name} started.")
    return redirect(reverse("recovery:replay", args=[record.pk]))


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request")
def detail(request: HtmxHttpRequest, replay_id: int) -> HttpResponse:
    record = ReplayRecord.objects.filter(pk=replay_id).first()
    if record is None:
        raise Http404("No such replay.")
    record = actions.refresh(record)
    context = {
        "replay": record,
        "sagas": actions.sagas_started_by(record),
        "can_act": has_role(request, OPERATOR),
    }
    template = "recovery/_replay_progress.html" if request.htmx else "recovery/replay.html"
    return render(request, template, context)


@require_POST
@role_required(OPERATOR)
def cancel(request: HttpRequest, replay_id: int) -> HttpResponse:
    try:
        actions.cancel(replay_id, actor=actor_for(request), reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, message_for(exc))
    else:
        messages.success(request, "Cancel asked: AWS stops the replay shortly.")
    return redirect(reverse("recovery:replay", args=[replay_id]))
