"""Alerts: what fires now, each alert's history, acknowledging, silences, the dashboard, and
the console's own metrics for Prometheus."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from opsconsole.errors import DomainError
from opsconsole.identity.roles import OPERATOR, VIEWER, actor_for, has_role, role_required
from opsconsole.registry import get_registry
from opsconsole.web.problems import message_for

from . import actions, charts, dashboard, prometheus
from . import series as series_mod
from .config import alert_rules
from .forms import AcknowledgeForm, SilenceForm
from .models import Alert, AlertState, Silence

STATE_ORDER = {"firing": 0, "pending": 1, "error": 2, "nodata": 3, "resolved": 4, "normal": 5}
STATE_FILTERS = ("firing", "pending", "nodata", "error", "resolved", "normal")


def _rules() -> dict[str, Any]:
    return {r.name: r for r in alert_rules(get_registry())}


def _decorate(alerts: list[Alert], now: Any) -> list[dict[str, Any]]:
    from . import evaluation as ev
    from .notify import active_silences, silence_for

    rules = _rules()
    silences = active_silences(now)
    out = []
    for a in alerts:
        rule = rules.get(a.rule)
        labels = ev.alert_labels(rule, a.labels) if rule else dict(a.labels)
        out.append({"alert": a, "rule": rule, "silence": silence_for(labels, silences)})
    return out


@require_GET
@role_required(VIEWER)
def alerts(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    state = request.GET.get("state", "")
    qs = Alert.objects.all()
    if state in STATE_FILTERS:
        qs = qs.filter(state=state)
    else:
        state = ""
        qs = qs.exclude(state=AlertState.NORMAL)
    rows = sorted(qs[:500], key=lambda a: (STATE_ORDER.get(a.state, 9), a.rule, a.pk))
    counts: dict[str, int] = {}
    for s in Alert.objects.values_list("state", flat=True):
        counts[s] = counts.get(s, 0) + 1
    return render(
        request,
        "monitoring/alerts.html",
        {
            "rows": _decorate(rows, now),
            "rules": alert_rules(get_registry()),
            "state": state,
            "states": [(s, counts.get(s, 0)) for s in STATE_FILTERS],
            "can_act": has_role(request, OPERATOR),
            "ack_form": AcknowledgeForm(),
        },
    )


def _alert_key(alert: Alert) -> str | None:
    rule = _rules().get(alert.rule)
    if rule is None:
        return None
    if rule.signal == "metric":
        return series_mod.metric_key(
            rule.namespace or "", rule.metric or "", alert.labels, rule.stat
        )
    return series_mod.signal_key(rule.signal, alert.labels)


@require_GET
@role_required(VIEWER)
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = get_object_or_404(Alert, pk=pk)
    now = timezone.now()
    key = _alert_key(alert)
    start = now - timedelta(hours=1)
    data = series_mod.window([key], start, now) if key else {}
    chart = charts.line_chart("Last hour", {alert.rule: data.get(key or "", [])}, start, now)
    transitions = list(alert.transitions.order_by("-at", "-id")[:50])
    return render(
        request,
        "monitoring/alert.html",
        {
            "row": _decorate([alert], now)[0],
            "chart": chart,
            "transitions": transitions,
            "can_act": has_role(request, OPERATOR),
            "ack_form": AcknowledgeForm(),
            "silence_query": "&".join(
                f"{k}={v}"
                for k, v in [("alertname", alert.rule), *sorted(alert.labels.items())]
                if v
            ),
        },
    )


@require_POST
@role_required(OPERATOR)
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    form = AcknowledgeForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        actions.acknowledge(pk, actor=actor_for(request), note=note)
    except DomainError as exc:
        if exc.code == "monitoring.alert_not_found":
            raise Http404 from None
        messages.error(request, message_for(exc))
    else:
        messages.success(request, "Acknowledged: the alert shows you are on it.")
    back = request.POST.get("next", "")
    target = (
        reverse("monitoring:alerts") if back == "list" else reverse("monitoring:alert", args=[pk])
    )
    return HttpResponseRedirect(target)


@require_GET
@role_required(VIEWER)
def silences(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    initial = {
        "matchers": "\n".join(
            f"{k}={v}" for k, v in request.GET.items() if k not in ("duration", "reason")
        ),
    }
    return _silences_page(request, SilenceForm(initial=initial), now)


def _silences_page(
    request: HttpRequest, form: SilenceForm, now: Any, status: int = 200
) -> HttpResponse:
    rows = [
        {"silence": s, "state": actions.silence_state(s, now)}
        for s in Silence.objects.order_by("-created_at")[:200]
    ]
    order = {"active": 0, "pending": 1, "expired": 2}
    rows.sort(key=lambda r: order[str(r["state"])])
    return render(
        request,
        "monitoring/silences.html",
        {"rows": rows, "form": form, "can_act": has_role(request, OPERATOR)},
        status=status,
    )


@require_POST
@role_required(OPERATOR)
def silence_create(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    form = SilenceForm(request.POST)
    if not form.is_valid():
        return _silences_page(request, form, now, status=400)
    try:
        silence = actions.create_silence(
            actor=actor_for(request),
            matchers=form.cleaned_data["matchers"],
            reason=form.cleaned_data["reason"],
            duration=timedelta(minutes=form.cleaned_data["minutes"]),
        )
    except DomainError as exc:
        form.add_error(None, message_for(exc))
        return _silences_page(request, form, now, status=400)
    messages.success(
        request, f"Silenced until {silence.ends_at:%Y-%m-%d %H:%M} UTC: {silence.reason}"
    )
    return HttpResponseRedirect(reverse("monitoring:silences"))


@require_POST
@role_required(OPERATOR)
def silence_expire(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        actions.expire_silence(pk, actor=actor_for(request))
    except DomainError as exc:
        if exc.code == "monitoring.silence_not_found":
            raise Http404 from None
        messages.error(request, message_for(exc))
    else:
        messages.success(request, "The silence has ended.")
    return HttpResponseRedirect(reverse("monitoring:silences"))


@require_GET
@role_required(VIEWER)
def dashboard_page(request: HttpRequest) -> HttpResponse:
    span = request.GET.get("range", "1h")
    if span not in dashboard.RANGES:
        span = "1h"
    return render(
        request,
        "monitoring/dashboard.html",
        {
            "charts": dashboard.charts_for(span, timezone.now()),
            "range": span,
            "ranges": dashboard.RANGES,
        },
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """The console's own metrics in Prometheus format, for a bearer of METRICS_TOKEN."""
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("/metrics is off: set OPSCONSOLE_METRICS_TOKEN")
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        response = HttpResponse(
            "a bearer token is required\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = prometheus.render()
    return HttpResponse(body, content_type=content_type)
