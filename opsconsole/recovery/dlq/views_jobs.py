"""Send back and delete from the pages: selection -> preview -> confirmation -> job page.

No JavaScript needed: each step is a form POST. The idempotency key is made when the
preview is shown, so a double submit of the confirmation starts one job."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from opsconsole.errors import DomainError, InvalidInput, PermissionRefused
from opsconsole.identity.roles import OPERATOR, actor_for, has_role, user_role
from opsconsole.web.problems import message_for

from ..models import DeadLetter
from . import present, sendback
from .views import _forbidden

ACTIONS = ("redrive", "delete")


def _field_errors(exc: DomainError) -> dict[str, list[str]]:
    return dict(exc.params.get("errors") or {}) if isinstance(exc, InvalidInput) else {}


def _job_url(job_id: int) -> str:
    return reverse("recovery:job", args=[job_id])


def _refuse_non_operator(request: HttpRequest) -> HttpResponse | None:
    if has_role(request, OPERATOR):
        return None
    try:
        sendback.require_operator(actor_for(request), "dlq.send_back", "")
    except PermissionRefused as exc:
        return _forbidden(request, exc)
    return None


@require_POST
def send_back(request: HttpRequest) -> HttpResponse:
    refused = _refuse_non_operator(request)
    if refused is not None:
        return refused
    action = request.POST.get("action", "redrive")
    if action not in ACTIONS:
        action = "redrive"
    if request.POST.get("step") == "confirm":
        # A second click (or a reload) of a confirmation already taken: show that job.
        done = sendback.already_submitted(request.POST.get("idempotency_key", ""))
        if done is not None:
            return HttpResponseRedirect(_job_url(done.pk))
    all_matching = request.GET.get("all") == "1" or request.POST.get("all") == "1"
    letters = sendback.selected(
        request.POST.getlist("ids"),
        q=request.POST.get("q", ""),
        dlq=request.POST.get("dlq", ""),
        all_matching=all_matching,
    )
    back = request.META.get("HTTP_REFERER") or reverse("recovery:index")
    if not letters:
        messages.error(request, "Select at least one message that is still in its DLQ.")
        return HttpResponseRedirect(back)
    errors: dict[str, list[str]] = {}
    if request.POST.get("step") == "confirm":
        if not request.POST.get("confirm"):
            errors["confirm"] = ["Tick the box to confirm."]
        else:
            try:
                rate_raw = (request.POST.get("rate") or "").strip()
                rate = float(rate_raw) if rate_raw else None
                actor = actor_for(request)
                ticket = request.POST.get("ticket", "")
                reason = request.POST.get("reason", "")
                key = request.POST.get("idempotency_key", "")
                if action == "redrive":
                    job, _ = sendback.submit_redrive(
                        letters,
                        actor=actor,
                        ticket=ticket,
                        reason=reason,
                        idempotency_key=key,
                        rate_per_second=rate,
                    )
                else:
                    job, _ = sendback.submit_delete(
                        letters, actor=actor, ticket=ticket, reason=reason, idempotency_key=key
                    )
            except ValueError:
                errors["rate"] = ["A number of messages per second."]
            except PermissionRefused as exc:
                return _forbidden(request, exc)
            except DomainError as exc:
                errors = _field_errors(exc) or {"general": [message_for(exc)]}
            else:
                return HttpResponseRedirect(_job_url(job.pk))
    try:
        shown = sendback.preview(letters, action)
    except DomainError as exc:
        messages.error(request, message_for(exc))
        return HttpResponseRedirect(back)
    return render(
        request,
        "recovery/dlq_send_back.html",
        {
            "action": action,
            "preview": shown,
            "letters": letters,
            "ids": [d.pk for d in letters],
            "all_matching": all_matching,
            "q": request.POST.get("q", ""),
            "dlq": request.POST.get("dlq", ""),
            "errors": errors,
            "form": request.POST,
            "idempotency_key": request.POST.get("idempotency_key") or uuid.uuid4().hex,
        },
        status=400 if errors else 200,
    )


@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Fix a message, see the change as a diff, confirm, and send it back."""
    refused = _refuse_non_operator(request)
    if refused is not None:
        return refused
    letter = DeadLetter.objects.filter(pk=pk).first()
    if letter is None:
        raise Http404("No such dead letter.")
    mask = present.masker_for(letter, request)
    text = present.masked_body(letter, mask)
    context: dict[str, object] = {
        "letter": letter,
        "text": text,
        "errors": {},
        "idempotency_key": uuid.uuid4().hex,
        "form": {},
    }
    if letter.state != DeadLetter.PRESENT:
        messages.error(request, "This message is no longer in its DLQ.")
        return HttpResponseRedirect(reverse("recovery:dlq_message", args=[pk]))
    if request.method == "POST":
        edited = request.POST.get("body", "")
        context.update(text=edited, form=request.POST)
        context["idempotency_key"] = request.POST.get("idempotency_key") or uuid.uuid4().hex
        change = present.apply_edit(letter, edited, mask)
        context["edit"] = change
        if change.problem:
            context["errors"] = {"body": [change.problem]}
        elif request.POST.get("step") == "confirm":
            if not request.POST.get("confirm"):
                context["errors"] = {"confirm": ["Tick the box to confirm."]}
            else:
                try:
                    job, _ = sendback.submit_edited(
                        letter,
                        edited,
                        actor=actor_for(request),
                        ticket=request.POST.get("ticket", ""),
                        reason=request.POST.get("reason", ""),
                        idempotency_key=request.POST.get("idempotency_key", ""),
                        role=user_role(request),
                    )
                except PermissionRefused as exc:
                    return _forbidden(request, exc)
                except DomainError as exc:
                    context["errors"] = _field_errors(exc) or {"general": [message_for(exc)]}
                else:
                    return HttpResponseRedirect(_job_url(job.pk))
    return render(
        request, "recovery/dlq_edit.html", context, status=400 if context["errors"] else 200
    )
