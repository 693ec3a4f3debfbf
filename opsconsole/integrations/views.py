"""Integrations pages (admins): webhook endpoints with their delivery log, and the
notification channels the registry declares with what was sent to them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsconsole.errors import DomainError
from opsconsole.events import EVENT_TYPES
from opsconsole.identity.roles import ADMIN, actor_for, role_required
from opsconsole.registry import get_registry
from opsconsole.web.problems import message_for, status_for

from . import actions
from .config import channels
from .errors import EndpointNotFound
from .models import Delivery, DeliveryStatus, WebhookEndpoint

LOG_SIZE = 50


def _see_other(url: str) -> HttpResponseRedirect:
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def _or_404(pk: int) -> WebhookEndpoint:
    try:
        return actions.get_endpoint(pk)
    except EndpointNotFound:
        raise Http404("No such webhook endpoint.") from None


def _form_types(request: HttpRequest) -> list[str]:
    return [t for t in request.POST.getlist("event_types") if t]


def _index_context(**extra: Any) -> dict[str, Any]:
    endpoints = WebhookEndpoint.objects.annotate(
        failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        pending=Count(
            "deliveries",
            filter=Q(deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
        ),
    )
    return {
        "endpoints": endpoints,
        "channels": list(channels(get_registry()).values()),
        "channel_log": Delivery.objects.filter(endpoint__isnull=True).order_by(
            "-created_at", "-id"
        )[:LOG_SIZE],
        "event_types": EVENT_TYPES,
        **extra,
    }


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def webhooks(request: HttpRequest) -> HttpResponse:
    """The endpoints and channels; POST adds an endpoint and shows its secret, once."""
    if request.method == "GET":
        return render(request, "integrations/webhooks.html", _index_context())
    form: dict[str, Any] = {
        "url": request.POST.get("url", ""),
        "description": request.POST.get("description", ""),
        "owner_email": request.POST.get("owner_email", ""),
        "event_types": _form_types(request),
    }
    try:
        created = actions.create_endpoint(actor_for(request), **form)
    except DomainError as exc:
        return render(
            request,
            "integrations/webhooks.html",
            _index_context(form=form, error=message_for(exc)),
            status=status_for(exc),
        )
    return render(
        request,
        "integrations/secret.html",
        {"endpoint": created.endpoint, "secret": created.secret, "rotated": False},
    )


def _endpoint_context(endpoint: WebhookEndpoint, **extra: Any) -> dict[str, Any]:
    log = (
        Delivery.objects.filter(endpoint=endpoint)
        .prefetch_related("log")
        .order_by("-created_at", "-id")[:LOG_SIZE]
    )
    return {"endpoint": endpoint, "deliveries": log, "event_types": EVENT_TYPES, **extra}


@require_http_methods(["GET", "POST"])
@role_required(ADMIN)
def endpoint(request: HttpRequest, pk: int) -> HttpResponse:
    """One endpoint: its settings and its delivery log; POST saves the settings."""
    found = _or_404(pk)
    if request.method == "GET":
        return render(request, "integrations/endpoint.html", _endpoint_context(found))
    try:
        actions.update_endpoint(
            actor_for(request),
            pk,
            url=request.POST.get("url", ""),
            description=request.POST.get("description", ""),
            event_types=_form_types(request),
        )
    except DomainError as exc:
        found.refresh_from_db()
        return render(
            request,
            "integrations/endpoint.html",
            _endpoint_context(found, error=message_for(exc)),
            status=status_for(exc),
        )
    messages.success(request, "Saved.")
    return _see_other(reverse("integrations:endpoint", args=[pk]))


@require_POST
@role_required(ADMIN)
def set_enabled(request: HttpRequest, pk: int) -> HttpResponse:
    _or_404(pk)
    enabled = request.POST.get("enabled") == "1"
    actions.update_endpoint(actor_for(request), pk, enabled=enabled)
    messages.success(request, "Enabled." if enabled else "Disabled: nothing is sent to it now.")
    return _see_other(reverse("integrations:endpoint", args=[pk]))


@require_POST
@role_required(ADMIN)
def rotate(request: HttpRequest, pk: int) -> HttpResponse:
    _or_404(pk)
    rotated = actions.rotate_secret(actor_for(request), pk)
    return render(
        request,
        "integrations/secret.html",
        {"endpoint": rotated.endpoint, "secret": rotated.secret, "rotated": True},
    )


@require_POST
@role_required(ADMIN)
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    _or_404(pk)
    actions.delete_endpoint(actor_for(request), pk)
    messages.success(request, "The endpoint was removed.")
    return _see_other(reverse("integrations:webhooks"))


@require_POST
@role_required(ADMIN)
def redeliver(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    _or_404(pk)
    try:
        actions.redeliver(actor_for(request), pk, delivery_pk)
    except DomainError as exc:
        if status_for(exc) == 404:
            raise Http404(message_for(exc)) from None
        messages.error(request, message_for(exc))
    else:
        messages.success(request, "Queued for delivery again (same webhook id).")
    return _see_other(reverse("integrations:endpoint", args=[pk]))


@require_GET
@role_required(ADMIN)
def delivery(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    """One delivery: the document sent and every attempt."""
    found = _or_404(pk)
    row = Delivery.objects.filter(pk=delivery_pk, endpoint=found).first()
    if row is None:
        raise Http404("No such delivery.")
    return render(request, "integrations/delivery.html", {"endpoint": found, "delivery": row})
