"""The approvals inbox: waiting requests, one request's page, decisions, claims, bulk."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from opsconsole.errors import DomainError
from opsconsole.identity.roles import (
    APPROVER,
    VIEWER,
    actor_for,
    has_role,
    role_required,
    user_role,
)
from opsconsole.registry import get_registry
from opsconsole.web.formatting import rough_duration
from opsconsole.web.http import HtmxHttpRequest, htmx_target, local_url
from opsconsole.web.pagination import keep_params
from opsconsole.web.problems import message_for, status_for
from sagas.models import Saga

from . import actions
from .context import case_page_url, saga_context
from .forms import BulkDecisionForm, DecisionForm, InboxFilterForm
from .messages import format_time
from .models import (
    FINAL_STATUSES,
    OPEN_STATUSES,
    WAITING_STATUSES,
    ApprovalRequest,
)

PAGE_SIZE = 25
SOON_SECONDS = 3600


def _forbidden(request: HttpRequest) -> HttpResponse:
    """The 403 page for somebody whose role may not decide or claim (the action audited it)."""
    return render(
        request,
        "identity/forbidden.html",
        {"required_role": APPROVER, "role": user_role(request)},
        status=403,
    )


def time_left(seconds: float | None) -> tuple[str, str]:
    """A short label and an urgency class ('overdue', 'soon', '') for the time left."""
    if seconds is None:
        return "no deadline", ""
    if seconds <= 0:
        return f"overdue by {rough_duration(-seconds)}", "overdue"
    return f"{rough_duration(seconds)} left", "soon" if seconds < SOON_SECONDS else ""


def _row(
    req: ApprovalRequest, me: str, now: Any, identities: frozenset[str] = frozenset()
) -> dict[str, Any]:
    label, urgency = time_left(req.time_left_seconds(now))
    holder = req.claim_holder(now)
    initiator = (req.requested_by or "").strip().lower()
    return {
        # The reader started this saga: they may not approve it.
        "own_saga": bool(initiator) and initiator in (identities | {me.lower()}),
        "req": req,
        "time_left": label,
        "urgency": urgency if req.status in WAITING_STATUSES else "",
        "claimed_by": holder,
        "claimed_by_me": bool(holder) and holder == me,
    }


def _me(request: HttpRequest) -> str:
    return actor_for(request).id


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request", "HX-Target")
def inbox(request: HtmxHttpRequest) -> HttpResponse:
    tab = "history" if request.GET.get("tab") == "history" else "waiting"
    form = InboxFilterForm(request.GET or None)
    me = _me(request)
    base = ApprovalRequest.objects.all()
    counts = base.aggregate(
        waiting=Count("id", filter=Q(status__in=WAITING_STATUSES)),
        history=Count("id", filter=Q(status__in=FINAL_STATUSES)),
    )
    if tab == "waiting":
        qs = base.filter(status__in=WAITING_STATUSES).order_by(
            F("deadline").asc(nulls_last=True), "id"
        )
    else:
        qs = base.filter(status__in=FINAL_STATUSES).order_by("-updated_at", "-id")
    if request.GET:
        qs = form.apply(qs, me)
    qs = qs.prefetch_related("decisions")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    identities = actions.identities_for(request)
    rows = [_row(r, me, now, identities) for r in page.object_list]
    context = {
        "tab": tab,
        "form": form,
        "page": page,
        "rows": rows,
        "counts": counts,
        "query": keep_params(request.GET, page=None),
        "can_decide": has_role(request, APPROVER),
        "kinds": get_registry().kinds,
        "selected": set(request.GET.getlist("selected")),
        # One key per rendered form: a double submit replays instead of deciding twice.
        "bulk_key": uuid.uuid4().hex,
    }
    if htmx_target(request) == "approval-list":
        return render(request, "approvals/inbox.html#approval-list", context)
    return render(request, "approvals/inbox.html", context)


def _detail_context(request: HtmxHttpRequest, req: ApprovalRequest, **extra: Any) -> dict[str, Any]:
    me = _me(request)
    identities = actions.identities_for(request) | {me.lower()}
    initiator = (req.requested_by or "").strip().lower()
    kind = get_registry().kind(req.kind)
    now = timezone.now()
    row = _row(req, me, now, identities)
    decisions = list(req.decisions.all())
    is_initiator = bool(initiator) and initiator in identities
    is_first_approver = bool(req.first_approved_by) and req.first_approved_by == me
    return {
        "req": req,
        "row": row,
        "kind": kind,
        "four_eyes": bool(kind and kind.four_eyes),
        "decisions": decisions,
        # Every approval with its time: a four-eyes request shows both approvers.
        "approvals": [d for d in decisions if d.decision == "approve"],
        "can_decide": has_role(request, APPROVER) and req.is_open,
        "is_initiator": is_initiator,
        "is_first_approver": is_first_approver,
        # Claiming is offered only to someone who may approve (rejecting is always open).
        "may_claim": not is_initiator and not is_first_approver,
        "already_message": message_for(actions.AlreadyDecided.of(req)) if req.is_final else "",
        "pending_send_message": actions.pending_send_message(req)
        if req.status == "sending"
        else "",
        "idempotency_key": uuid.uuid4().hex,
        "form": extra.pop("form", None) or DecisionForm(),
        **extra,
    }


def _get_request(pk: int) -> ApprovalRequest:
    return get_object_or_404(ApprovalRequest.objects.select_related("saga"), pk=pk)


@require_GET
@role_required(VIEWER)
def request_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    req = _get_request(pk)
    context = _detail_context(request, req)
    context["ctx"] = saga_context(req)
    return render(request, "approvals/detail.html", context)


def _panel_response(
    request: HtmxHttpRequest, req: ApprovalRequest, *, status: int = 200, **extra: Any
) -> HttpResponse:
    """After a POST: the decision panel (htmx) or the request's page (no JavaScript)."""
    req.refresh_from_db()
    context = _detail_context(request, req, **extra)
    if request.htmx:
        # htmx swaps 2xx only: errors travel inside the fragment. The saga panel comes
        # along (out of band): after a decision it must not show the step still waiting.
        context["ctx"] = saga_context(req)
        context["oob_saga"] = True
        return render(request, "approvals/_decision_panel.html", context)
    context["ctx"] = saga_context(req)
    return render(request, "approvals/detail.html", context, status=status)


def _see_other(url: str) -> HttpResponseRedirect:
    """303: after a POST, the browser GETs the page (a reload never re-posts)."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _redirect_back(request: HtmxHttpRequest, req: ApprovalRequest) -> HttpResponse:
    return _see_other(
        local_url(request, request.POST.get("next", ""))
        or reverse("approvals:detail", args=[req.pk])
    )


# The POST views carry no role decorator: the action checks the approver role and audits a
# refusal once, under the same name as when it comes through the API.


@require_POST
@vary_on_headers("HX-Request")
def decide(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    req = _get_request(pk)
    form = DecisionForm(request.POST)
    # Shape only: over-long text reaches the action as typed, and the action refuses it.
    data = form.cleaned_data if form.is_valid() else _raw(form)
    asks = has_role(request, APPROVER) and req.is_open  # else the action refuses (audited)
    if asks and data["decision"] == "approve" and request.POST.get("confirmed") != "1":
        # Without JavaScript there was no confirm dialog: ask on a page of its own.
        return render(
            request,
            "approvals/confirm.html",
            {
                "req": req,
                "action": reverse("approvals:decide", args=[req.pk]),
                "fields": [(k, v) for k, v in request.POST.items() if k != "csrfmiddlewaretoken"],
                "items": [req],
                "impact": approve_impact([req]),
                "back": reverse("approvals:detail", args=[req.pk]),
            },
        )
    try:
        result = actions.decide(
            req.pk,
            actor=actor_for(request),
            decision=data["decision"],
            reason=data["reason"],
            comment=data["comment"],
            ticket=data["ticket"],
            idempotency_key=data["idempotency_key"],
            identities=actions.identities_for(request),
        )
    except actions.NotAnApprover:
        return _forbidden(request)
    except DomainError as exc:
        keep = form if isinstance(exc, actions.InvalidDecision) else None
        return _panel_response(
            request, req, status=status_for(exc), form=keep, error=message_for(exc)
        )
    level = {
        "approved": messages.SUCCESS,
        "rejected": messages.SUCCESS,
        "first_approval": messages.SUCCESS,
        "pending_send": messages.WARNING,
    }.get(result.outcome, messages.ERROR)
    if request.htmx:
        return _panel_response(request, req, notice=result.message, notice_level=level)
    messages.add_message(request, level, result.message)
    return _redirect_back(request, req)


def _raw(form: DecisionForm) -> dict[str, str]:
    return {name: str(form.data.get(name, "")) for name in form.fields}


def _claim_response(
    request: HtmxHttpRequest, pk: int, change: Any, note: Any, level: int
) -> HttpResponse:
    """Claim or release: the panel under htmx (never a redirect swapped into it), else back."""
    req = _get_request(pk)
    try:
        req = change(req.pk, actor=actor_for(request))
    except actions.NotAnApprover:
        return _forbidden(request)
    except DomainError as exc:
        if request.htmx:
            return _panel_response(request, req, error=message_for(exc))
        messages.error(request, message_for(exc))
        return _redirect_back(request, req)
    text = note(req)
    if request.htmx:
        return _panel_response(request, req, notice=text, notice_level=level)
    messages.add_message(request, level, text)
    return _redirect_back(request, req)


@require_POST
@vary_on_headers("HX-Request")
def claim(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _claim_response(
        request,
        pk,
        actions.claim,
        lambda req: f"You hold this request until {format_time(req.claimed_until)}.",
        messages.SUCCESS,
    )


@require_POST
@vary_on_headers("HX-Request")
def unclaim(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _claim_response(
        request, pk, actions.unclaim, lambda req: "Released for other approvers.", messages.INFO
    )


def approve_impact(reqs: list[ApprovalRequest]) -> str:
    """What approving does, in the words of the confirm dialog and page."""
    if len(reqs) == 1:
        r = reqs[0]
        return (
            f"Approve {r.summary}? The saga resumes at once (for a four-eyes kind, after the "
            "second approval); this cannot be undone."
        )
    return f"Approve {len(reqs)} requests? Each saga resumes at once; this cannot be undone."


@require_POST
def bulk_decide(request: HtmxHttpRequest) -> HttpResponse:
    form = BulkDecisionForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    # On any refusal the inbox comes back with the same requests still selected.
    chosen = [str(i) for i in (data.get("ids") or [])]
    inbox_url = reverse("approvals:inbox") + (
        "?" + "&".join(f"selected={i}" for i in chosen) if chosen else ""
    )
    if (
        has_role(request, APPROVER)
        and data.get("decision") == "approve"
        and chosen
        and request.POST.get("confirmed") != "1"
    ):
        reqs = list(ApprovalRequest.objects.filter(pk__in=[int(i) for i in chosen]))
        return render(
            request,
            "approvals/confirm.html",
            {
                "action": reverse("approvals:bulk"),
                "fields": [
                    (k, v)
                    for k in request.POST
                    if k != "csrfmiddlewaretoken"
                    for v in request.POST.getlist(k)
                ],
                "items": reqs,
                "impact": approve_impact(reqs),
                "back": inbox_url,
            },
        )
    try:
        # Called even with nothing selected: somebody who may not decide is told so (and
        # audited) rather than asked to select something.
        items = actions.decide_many(
            data.get("ids") or [],
            actor=actor_for(request),
            decision=data.get("decision", ""),
            reason=data.get("reason", ""),
            comment=data.get("comment", ""),
            ticket=data.get("ticket", ""),
            idempotency_key=data.get("idempotency_key", ""),
            identities=actions.identities_for(request),
        )
    except actions.NotAnApprover:
        return _forbidden(request)
    except DomainError as exc:
        messages.error(request, message_for(exc))
        return _see_other(inbox_url)
    if not items:
        messages.error(request, "Select at least one request, then approve or reject.")
        return _see_other(inbox_url)
    done = [i for i in items if i.ok]
    if done:
        messages.success(request, f"{len(done)} of {len(items)} decided.")
    if len(done) == len(items):
        inbox_url = reverse("approvals:inbox")
    for item in items:
        if not item.ok:
            level = messages.WARNING if item.outcome == "pending_send" else messages.ERROR
            text = message_for(item.error) if item.error else item.message
            messages.add_message(request, level, f"{item.label}: {text}")
    return _see_other(inbox_url)


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request")
def saga_panel(request: HtmxHttpRequest, saga_id: int) -> HttpResponse:
    """The case page's approvals panel for one saga: a fragment for the case page's hx-get,
    a page of its own for the no-JavaScript link."""
    saga = Saga.objects.filter(pk=saga_id).first()
    if saga is None:
        raise Http404("No such saga.")
    requests = (
        ApprovalRequest.objects.filter(Q(saga=saga) | Q(execution_arn=saga.execution_arn))
        .prefetch_related("decisions")
        .order_by("-requested_at", "-id")[:20]
    )
    now = timezone.now()
    me = _me(request)
    rows = [_row(r, me, now) for r in requests]
    template = "approvals/_saga_panel.html" if request.htmx else "approvals/saga_panel.html"
    return render(
        request,
        template,
        {"saga": saga, "rows": rows, "case_url": case_page_url(saga), "open": OPEN_STATUSES},
    )
