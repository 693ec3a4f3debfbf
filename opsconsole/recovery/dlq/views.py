"""DLQ pages: a DLQ and its messages, a message, search, the saga panel, looking, move tasks.
Sending back and deleting (preview, confirm, job) are in views_jobs.py.

Views translate: the actions check roles, audit and raise domain errors."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from opsconsole.errors import DomainError, PermissionRefused
from opsconsole.identity.roles import OPERATOR, VIEWER, actor_for, has_role, role_required
from opsconsole.registry import get_registry
from opsconsole.web.http import HtmxHttpRequest
from opsconsole.web.problems import message_for
from sagas.models import Saga

from ..config import dlqs
from ..models import DeadLetter
from . import actions, present, selectors

PAGE = 200


def _letter(pk: int) -> DeadLetter:
    letter = DeadLetter.objects.filter(pk=pk).first()
    if letter is None:
        raise Http404("No such dead letter.")
    return letter


def _case_url(saga: Saga | None) -> str | None:
    """The saga's case page: by business key, naming the run (a key may have several)."""
    if saga is None:
        return None
    return saga.get_absolute_url() or None


def _forbidden(request: HttpRequest, exc: PermissionRefused) -> HttpResponse:
    return render(
        request,
        "identity/forbidden.html",
        {"required_role": OPERATOR, "role": exc.params.get("role")},
        status=403,
    )


@require_GET
@role_required(VIEWER)
def dlq_detail(request: HttpRequest, name: str) -> HttpResponse:
    try:
        dlq = actions.dlq_named(name)
    except DomainError as exc:
        raise Http404(message_for(exc)) from exc
    row = selectors.row_of(dlq)
    state = request.GET.get("state", "live")
    if state not in ("live", "gone", "redriven", "deleted", "all"):
        state = "live"
    letters = list(selectors.messages_of(name, None if state == "all" else state)[: PAGE + 1])
    return render(
        request,
        "recovery/dlq_detail.html",
        {
            "dlq": dlq,
            "row": row,
            "letters": letters[:PAGE],
            "more": len(letters) > PAGE,
            "state": state,
            "can_act": has_role(request, OPERATOR),
        },
    )


@require_POST
def dlq_look(request: HttpRequest, name: str) -> HttpResponse:
    """Read the DLQ's messages now (operators: a look adds to each message's receive count)."""
    try:
        limit = int(request.POST.get("limit") or 100)
    except ValueError:
        limit = 100
    try:
        result = actions.look(name, limit=limit, actor=actor_for(request))
    except PermissionRefused as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, message_for(exc))
    else:
        partial = (
            " AWS answered slowly, so the look stopped early: look again for the rest."
            if not result.complete and result.seen < limit
            else ""
        )
        messages.success(
            request,
            f"Read {result.seen} message{'s' if result.seen != 1 else ''} and made them "
            f"visible again; each one's receive count went up by one.{partial}",
        )
    return HttpResponseRedirect(reverse("recovery:dlq", args=[name]))


@require_POST
def move_start(request: HttpRequest, name: str) -> HttpResponse:
    try:
        actions.require_operator(actor_for(request), "dlq.move_task.start", name)
    except PermissionRefused as exc:
        return _forbidden(request, exc)
    raw_rate = (request.POST.get("rate") or "").strip()
    try:
        rate = int(raw_rate) if raw_rate else None
    except ValueError:
        rate = -1
    if not request.POST.get("confirm"):
        messages.error(request, "Tick the confirmation to start the move task.")
        return HttpResponseRedirect(reverse("recovery:dlq", args=[name]))
    try:
        actions.start_move_task(
            name,
            actor=actor_for(request),
            ticket=request.POST.get("ticket", ""),
            reason=request.POST.get("reason", ""),
            rate=rate,
        )
    except PermissionRefused as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, _first_error(exc))
    else:
        messages.success(request, "Move task started: AWS moves the messages back to their source.")
    return HttpResponseRedirect(reverse("recovery:dlq", args=[name]))


@require_POST
def move_cancel(request: HttpRequest, name: str) -> HttpResponse:
    try:
        moved = actions.cancel_move_task(
            name, request.POST.get("handle", ""), actor=actor_for(request)
        )
    except PermissionRefused as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, message_for(exc))
    else:
        messages.success(request, f"Move task cancelled; {moved} message(s) it moved stay moved.")
    return HttpResponseRedirect(reverse("recovery:dlq", args=[name]))


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request")
def move_progress(request: HtmxHttpRequest, name: str) -> HttpResponse:
    """The move-task panel alone (polled while a task runs)."""
    try:
        dlq = actions.dlq_named(name)
    except DomainError as exc:
        raise Http404(message_for(exc)) from exc
    row = selectors.row_of(dlq)
    context = {
        "dlq": dlq,
        "row": row,
        "tasks": actions.move_tasks(name),
        "can_act": has_role(request, OPERATOR),
        "max_rate": actions.MAX_RATE,
    }
    template = "recovery/_dlq_move.html" if request.htmx else "recovery/dlq_move.html"
    return render(request, template, context)


def _first_error(exc: DomainError) -> str:
    errors = exc.params.get("errors") or {}
    for reasons in errors.values():
        if reasons:
            return str(reasons[0])
    return message_for(exc)


@require_GET
@role_required(VIEWER)
def message_detail(request: HttpRequest, pk: int) -> HttpResponse:
    letter = _letter(pk)
    mask = present.masker_for(letter, request)
    reading = present.reading(letter)
    saga = selectors.saga_of(letter)
    try:
        dlq = actions.dlq_named(letter.dlq)
    except DomainError:
        dlq = None
    masked_attributes = {k: mask(v) for k, v in letter.message_attributes.items()}
    return render(
        request,
        "recovery/dlq_message.html",
        {
            "letter": letter,
            "dlq": dlq,
            "shown": present.shown_body(letter, mask),
            "reading": reading,
            "envelope": mask(reading.envelope),
            "error_attributes": reading.error_attributes,
            "request_context": present.pretty(mask(reading.request_context))
            if reading.request_context
            else "",
            "response_context": present.pretty(mask(reading.response_context))
            if reading.response_context
            else "",
            "response_payload": present.pretty(mask(reading.response_payload))
            if reading.response_payload is not None
            else "",
            "attributes": sorted(masked_attributes.items()),
            "system_attributes": sorted(letter.attributes.items()),
            "saga": saga,
            "case_url": _case_url(saga),
            "can_act": has_role(request, OPERATOR) and letter.state == DeadLetter.PRESENT,
        },
    )


@require_GET
@role_required(VIEWER)
def message_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The whole body, as this person may see it, as a file (never rendered as HTML)."""
    letter = _letter(pk)
    mask = present.masker_for(letter, request)
    body = present.masked_body(letter, mask)
    is_json = letter.body_format == "json"
    response = HttpResponse(
        body.encode("utf-8", "replace"),
        content_type="application/json" if is_json else "text/plain; charset=utf-8",
    )
    safe_id = "".join(c for c in letter.message_id if c.isalnum() or c in "-_")[:80]
    response["Content-Disposition"] = (
        f'attachment; filename="{letter.dlq}-{safe_id}.{"json" if is_json else "txt"}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@role_required(VIEWER)
def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    dlq = request.GET.get("dlq", "")
    state = request.GET.get("state", "")
    found = selectors.search(q, dlq=dlq, state=state)
    return render(
        request,
        "recovery/dlq_search.html",
        {
            "q": q,
            "dlq": dlq,
            "state": state,
            "found": found,
            "dlqs": dlqs(get_registry()),
            "can_act": has_role(request, OPERATOR),
        },
    )


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request")
def saga_panel(request: HtmxHttpRequest, saga_id: int) -> HttpResponse:
    """The case page's "dead letters for this saga" panel (a page of its own without JS)."""
    saga = Saga.objects.filter(pk=saga_id).first()
    if saga is None:
        raise Http404("No such saga.")
    letters = selectors.letters_of_saga(saga)
    context: dict[str, Any] = {
        "saga": saga,
        "letters": letters,
        "case_url": _case_url(saga),
        "live": sum(1 for d in letters if d.state == DeadLetter.PRESENT),
    }
    template = "recovery/_dlq_saga_panel.html" if request.htmx else "recovery/dlq_saga_panel.html"
    return render(request, template, context)
