"""The case page's recovery panel and the pages of each action: preview, confirm, done.

Views translate: they read the form, call `actions`, and show what came back (a refusal's
message comes from the one error mapping)."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from opsconsole.errors import DomainError
from opsconsole.identity.roles import OPERATOR, VIEWER, actor_for, has_role, role_required
from opsconsole.registry import get_registry
from opsconsole.web.http import HtmxHttpRequest, row_id
from opsconsole.web.masking import masker, pretty
from opsconsole.web.problems import message_for
from sagas.models import Saga, SagaStatus
from sagas.queries import RANGE_CHOICES

from . import actions
from .models import ActionKind, SagaAction

TITLES = {
    ActionKind.REDRIVE: "Redrive from the failed step",
    ActionKind.RESTART: "Restart as a new execution",
    ActionKind.STOP: "Stop the saga",
    ActionKind.RESOLVE: "Mark resolved",
}


def case_url(saga: Saga) -> str:
    return saga.get_absolute_url()


def _saga(saga_id: int) -> Saga:
    saga = Saga.objects.filter(pk=saga_id).first()
    if saga is None:
        raise Http404("No such saga.")
    return saga


def _cheap_previews(saga: Saga) -> list[dict[str, Any]]:
    """What each action would say from the read model alone (the panel asks AWS nothing;
    the redrive page does)."""
    verdicts = actions.panel_verdicts(saga)
    return [
        {"action": str(a), "title": TITLES[a], "allowed": v.allowed, "why": v.why}
        for a, v in verdicts.items()
    ]


@require_GET
@role_required(VIEWER)
@vary_on_headers("HX-Request")
def saga_panel(request: HtmxHttpRequest, saga_id: int) -> HttpResponse:
    """The case page's recovery panel: what can be done, what was done and how it ended,
    and the saga's runs as one story."""
    saga = _saga(saga_id)
    context = {
        "saga": saga,
        "case_url": case_url(saga),
        "options": _cheap_previews(saga),
        "done": SagaAction.objects.filter(saga=saga).order_by("-created_at", "-id")[:20],
        "runs": actions.runs_of(saga),
        "can_act": has_role(request, OPERATOR),
    }
    template = "recovery/_saga_panel.html" if request.htmx else "recovery/saga_panel.html"
    return render(request, template, context)


def _masked_input(request: HttpRequest, saga: Saga) -> tuple[str | None, Any]:
    """The execution's input as AWS has it, and as this person may see it."""
    from opsconsole.aws import stepfunctions
    from opsconsole.aws.errors import AwsError

    try:
        execution = stepfunctions.describe_execution(saga.execution_arn, actions.env_for(saga))
    except AwsError:
        return None, None
    if execution is None:
        return None, None
    document = execution.input_json()
    kind = get_registry().kind(saga.kind)
    mask = masker(kind.sensitive_fields if kind else (), request, seeds=[document])
    return execution.input, mask(document)


@require_http_methods(["GET", "POST"])
@role_required(OPERATOR)
def act(request: HttpRequest, saga_id: int, action: str) -> HttpResponse:
    """One action's page: GET shows what will happen and the form; POST (confirmed) does it.
    A restart with a corrected input shows the diff first and asks again."""
    if action not in ActionKind.values:
        raise Http404("No such action.")
    saga = _saga(saga_id)
    kind = ActionKind(action)
    preview = actions.PREVIEWS[kind](saga)
    original_text, masked = (None, None)
    if kind == ActionKind.RESTART:
        original_text, masked = _masked_input(request, saga)
    form: dict[str, Any] = {
        "ticket": request.POST.get("ticket", "").strip(),
        "reason": request.POST.get("reason", "").strip(),
        "input": request.POST.get("input", ""),
        "use_corrected": request.POST.get("use_corrected") == "1",
        "idempotency_key": request.POST.get("idempotency_key") or uuid.uuid4().hex,
    }
    context: dict[str, Any] = {
        "saga": saga,
        "case_url": case_url(saga),
        "action": kind.value,
        "title": TITLES[kind],
        "preview": preview,
        "form": form,
        "masked_input": pretty(masked) if masked is not None else "",
        "error": "",
        "diff": "",
        "confirm_diff": False,
    }
    if request.method == "GET" or not preview.allowed:
        return render(request, "recovery/action.html", context)
    corrected = None
    if kind == ActionKind.RESTART and form["use_corrected"]:
        try:
            corrected = actions.parse_corrected_input(form["input"], original_text, masked)
        except DomainError as exc:
            context["error"] = message_for(exc)
            return render(request, "recovery/action.html", context, status=400)
        if request.POST.get("step") != "confirm":
            context["diff"] = corrected.diff or "(no change)"
            context["confirm_diff"] = True
            return render(request, "recovery/action.html", context)
    if request.POST.get("confirm") != "yes":
        context["error"] = "Tick the confirmation box to go ahead."
        return render(request, "recovery/action.html", context, status=400)
    try:
        record = actions.act(
            saga.pk,
            actions.Request(
                action=kind,
                actor=actor_for(request),
                ticket=form["ticket"],
                reason=form["reason"],
                idempotency_key=form["idempotency_key"],
                corrected=corrected,
            ),
        )
    except DomainError as exc:
        context["error"] = message_for(exc)
        return render(request, "recovery/action.html", context, status=409)
    messages.success(request, _done_words(record))
    return redirect(case_url(saga))


def _done_words(record: SagaAction) -> str:
    if record.action == ActionKind.REDRIVE:
        return (
            f"Redrive #{record.seq} sent: the execution resumes at its failed step. The "
            "recovery panel says how it ends."
        )
    if record.action == ActionKind.RESTART:
        name = record.new_execution_arn.rsplit(":", 1)[-1]
        return f"Restarted as {name}; the runs are linked on both case pages."
    if record.action == ActionKind.STOP:
        return "Stop sent: the execution is aborted with your reason."
    return "Marked resolved with your note."


def action_json(record: SagaAction) -> str:
    return json.dumps({"id": record.pk, "state": record.state})


@require_http_methods(["GET", "POST"])
@role_required(OPERATOR)
def bulk(request: HttpRequest) -> HttpResponse:
    """Bulk redrive or restart of what a saga list filter selects: the dry run (eligible
    count, the rest with the reason), then one job; its page shows the progress."""
    from . import bulk as bulk_actions

    source = request.POST if request.method == "POST" else request.GET
    kind = source.get("kind", "")
    action = source.get("action", ActionKind.REDRIVE)
    context: dict[str, Any] = {
        "kinds": list(get_registry().kinds.values()),
        "ranges": RANGE_CHOICES,
        "statuses": [("", "Any status"), *SagaStatus.choices],
        "kind": kind,
        "action": action,
        "run": None,
        "error": "",
        "idempotency_key": source.get("idempotency_key") or uuid.uuid4().hex,
        "rate": source.get("rate") or bulk_actions.DEFAULT_RATE,
        "ticket": source.get("ticket", ""),
        "reason": source.get("reason", ""),
    }
    job_id = row_id(request.GET.get("job"))
    if job_id is not None:
        context["outcome"] = bulk_actions.outcome_summary(job_id)
        context["job_id"] = job_id
    if not kind:
        return render(request, "recovery/bulk.html", context)
    try:
        run = bulk_actions.dry_run(kind, action, source)
    except DomainError as exc:
        context["error"] = message_for(exc)
        return render(request, "recovery/bulk.html", context, status=400)
    context["run"] = run
    context["filter_query"] = "&".join(f"{k}={v}" for k, v in run.filters.items())
    if request.method == "GET":
        return render(request, "recovery/bulk.html", context)
    if request.POST.get("confirm") != "yes":
        context["error"] = "Tick the confirmation box to start the job."
        return render(request, "recovery/bulk.html", context, status=400)
    try:
        rate = float(context["rate"])
    except ValueError:
        rate = bulk_actions.DEFAULT_RATE
    try:
        job, created = bulk_actions.submit(
            kind,
            action,
            source,
            actor=actor_for(request),
            ticket=context["ticket"].strip(),
            reason=context["reason"].strip(),
            rate_per_second=max(0.1, min(rate, 500.0)),
            idempotency_key=context["idempotency_key"],
        )
    except DomainError as exc:
        context["error"] = message_for(exc)
        return render(request, "recovery/bulk.html", context, status=400)
    messages.success(
        request,
        f"Job #{job.pk} {'started' if created else 'was already started'}: "
        f"{action} of {len(run.eligible)} sagas.",
    )
    try:
        return redirect(reverse("recovery:job", args=[job.pk]))
    except NoReverseMatch:
        return redirect(f"{reverse('recovery:bulk')}?job={job.pk}")
