"""The job pages: every long recovery action's progress, results and controls.

One page serves every kind of job (DLQ redrives, move tasks, bulk execution redrives): the
feature that submits a job links here, and the page polls its own progress fragment while
the job is active."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from opsconsole.errors import DomainError
from opsconsole.identity.roles import OPERATOR, VIEWER, actor_for, has_role, role_required
from opsconsole.web.http import HtmxHttpRequest, htmx_target
from opsconsole.web.pagination import keyset_page
from opsconsole.web.problems import message_for

from . import jobs
from .models import Job, JobItem

POLL_SECONDS = 2
ITEM_STATES = [s for s, _ in JobItem.STATES]


def _preview_rows(preview: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The confirmed impact as (label, text, is_block): nested values as indented JSON and
    multi-line text (a diff) kept in lines, never a Python repr."""
    rows = []
    for key, value in preview.items():
        label = str(key).replace("_", " ").capitalize()
        if isinstance(value, dict | list):
            rows.append((label, json.dumps(value, indent=2, ensure_ascii=False, default=str), True))
        elif isinstance(value, bool):
            rows.append((label, "yes" if value else "no", False))
        else:
            text = str(value)
            rows.append((label, text, "\n" in text))
    return rows


def _job_or_404(pk: int) -> Job:
    job = Job.objects.filter(pk=pk).first()
    if job is None:
        raise Http404("No such job.")
    return job


@require_GET
@role_required(VIEWER)
def job_list(request: HtmxHttpRequest) -> HttpResponse:
    page = keyset_page(
        Job.objects.all(), after=request.GET.get("after"), before=request.GET.get("before")
    )
    rows = [{"job": j, "label": jobs.label_for(j.kind)} for j in page.rows]
    return render(request, "recovery/jobs.html", {"page": page, "rows": rows})


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request", "HX-Target")
def job_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    job = _job_or_404(pk)
    context: dict[str, Any] = {
        "job": job,
        "label": jobs.label_for(job.kind),
        "asked": _preview_rows(job.preview),
        "counts": job.counts(),
        "poll": job.is_active,
        "poll_seconds": POLL_SECONDS,
        "can_steer": has_role(request.user, OPERATOR),
    }
    if htmx_target(request) == "job-progress":
        return render(request, "recovery/job.html#progress", context)
    state = request.GET.get("state", "")
    items = JobItem.objects.filter(job=job)
    if state in ITEM_STATES:
        items = items.filter(state=state)
    page = keyset_page(
        items, newest_first=False, after=request.GET.get("after"), before=request.GET.get("before")
    )
    context.update({"page": page, "state": state, "states": ITEM_STATES})
    return render(request, "recovery/job.html", context)


def _steer(request: HtmxHttpRequest, pk: int, verb: str) -> HttpResponse:
    job = _job_or_404(pk)
    try:
        getattr(jobs, verb)(job, actor_for(request))
    except DomainError as exc:
        messages.error(request, message_for(exc))
    else:
        messages.success(request, f"Job {job.pk}: {verb} done.")
    return redirect("recovery:job", pk=job.pk)


@require_POST
@role_required(OPERATOR)
def job_pause(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _steer(request, pk, "pause")


@require_POST
@role_required(OPERATOR)
def job_resume(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _steer(request, pk, "resume")


@require_http_methods(["GET", "POST"])
@role_required(OPERATOR)
def job_cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation with what cancelling does; POST cancels."""
    if request.method == "POST":
        return _steer(request, pk, "cancel")
    job = _job_or_404(pk)
    context = {"job": job, "label": jobs.label_for(job.kind), "counts": job.counts()}
    return render(request, "recovery/job_cancel.html", context)
