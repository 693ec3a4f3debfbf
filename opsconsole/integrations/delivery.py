"""Delivering one outbox row: claim it, send it once, log the attempt, and decide what next.

A claim is a conditional UPDATE (pending and due, or sending with an expired lease), so two
workers never send the same row at once; a worker killed mid-send leaves a lease that
expires, and the sweep hands the row to another worker. The webhook id stays the same on
every attempt, so a receiver drops a copy it already processed.

Retries follow a growing schedule over about three days (Standard Webhooks practice); a
429's Retry-After is honoured; 410 unsubscribes the endpoint; an endpoint that has failed
without a single success for DISABLE_AFTER is disabled and its owner told.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.registry import get_registry

from . import crypto, signing
from .config import Channel, channels
from .email.transport import EmailTransport
from .models import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint
from .render import subject, text
from .servicenow.transport import ServiceNowClient, ServiceNowTransport, credentials
from .sns.transport import SnsTransport
from .transports import Sent, TransportError, excerpt
from .webhook.transport import WebhookTransport

log = logging.getLogger(__name__)

# Seconds to wait after attempt n (1-based) before attempt n + 1: seconds, minutes, hours,
# then daily, about three days in all; after the last the delivery is given up.
SCHEDULE = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 14 * 3600, 20 * 3600, 24 * 3600)
MAX_ATTEMPTS = len(SCHEDULE) + 1
DISABLE_AFTER = timedelta(days=3)
# Retries due within this are queued with a countdown; later ones wait for the sweep.
COUNTDOWN_LIMIT = 10 * 60
SYSTEM = Actor.system("integrations")


def _lease() -> timedelta:
    return timedelta(seconds=settings.INTEGRATIONS_TIMEOUT * 2 + 10)


def claim(pk: int) -> Delivery | None:
    now = timezone.now()
    won = (
        Delivery.objects.filter(pk=pk, next_attempt_at__lte=now)
        .filter(
            Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
        )
        .update(status=DeliveryStatus.SENDING, lease_until=now + _lease())
    )
    if not won:
        return None
    return Delivery.objects.select_related("endpoint").get(pk=pk)


def body_of(delivery: Delivery) -> bytes:
    return json.dumps(delivery.envelope, separators=(",", ":"), sort_keys=True).encode()


def endpoint_secrets(endpoint: WebhookEndpoint, now: Any = None) -> list[str]:
    """The secrets that sign: the current one, and the previous one while a rotation lasts."""
    now = now or timezone.now()
    live = [crypto.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > now
    ):
        live.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return live


def send(delivery: Delivery) -> Sent:
    """One attempt at the destination; raises TransportError when it did not happen."""
    timeout = settings.INTEGRATIONS_TIMEOUT
    body = body_of(delivery)
    endpoint = delivery.endpoint
    if endpoint is not None:
        headers = signing.headers(endpoint_secrets(endpoint), delivery.message_id, body)
        return WebhookTransport(timeout).notify(endpoint.url, body, headers)
    channel = channels(get_registry()).get(delivery.channel)
    if channel is None:
        raise TransportError(
            f"channel {delivery.channel!r} is no longer configured", permanent=True
        )
    return send_to_channel(channel, delivery, body, timeout)


def send_to_channel(channel: Channel, delivery: Delivery, body: bytes, timeout: float) -> Sent:
    envelope = delivery.envelope
    if channel.type == "email":
        return EmailTransport().notify(subject(envelope), text(envelope), channel.to)
    if channel.type == "sns":
        registry = get_registry()
        env = registry.environments.get(channel.environment) if channel.environment else None
        return SnsTransport(channel.topic_arn, env).notify(
            subject(envelope), body.decode(), {"event_type": delivery.event_type}
        )
    if channel.type == "webhook":
        return WebhookTransport(timeout).notify(
            channel.url, body, {"webhook-id": delivery.message_id}
        )
    try:
        creds = credentials()
    except ImproperlyConfigured as exc:
        # Retried: an operator may fix the configuration within the retry window.
        raise TransportError(str(exc)) from None
    return ServiceNowTransport(ServiceNowClient(creds, timeout), channel).notify(envelope)


def attempt(pk: int) -> tuple[str, float | None]:
    """Deliver one outbox row if it is due and nobody else holds it: the outcome's name, and
    the seconds until the next attempt when it is to be retried."""
    delivery = claim(pk)
    if delivery is None:
        return "skipped", None
    endpoint = delivery.endpoint
    if endpoint is not None and not endpoint.enabled:
        _finish(delivery, DeliveryStatus.FAILED, error="endpoint disabled", outcome="gave_up")
        return "gave_up", None
    started = time.monotonic()
    try:
        sent = send(delivery)
    except TransportError as exc:
        return _failed(delivery, exc, started)
    except Exception as exc:
        # A bug or an unexpected library error: log it, and retry like a transient failure
        # rather than lose the event.
        log.exception("delivery %s failed unexpectedly", pk)
        return _failed(delivery, TransportError(f"unexpected {type(exc).__name__}"), started)
    with transaction.atomic():
        _finish(
            delivery,
            DeliveryStatus.DELIVERED,
            status_code=sent.status_code,
            excerpt_=sent.response_excerpt,
            outcome="delivered",
            started=started,
        )
        if endpoint is not None and endpoint.failing_since is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    return "delivered", None


def _failed(delivery: Delivery, exc: TransportError, started: float) -> tuple[str, float | None]:
    now = timezone.now()
    attempts = delivery.attempts + 1
    endpoint = delivery.endpoint
    with transaction.atomic():
        if exc.gone and endpoint is not None:
            _finish(
                delivery, DeliveryStatus.FAILED, exc=exc, outcome="unsubscribed", started=started
            )
            disable(endpoint, "The receiver answered 410 Gone: it unsubscribed.")
            return "unsubscribed", None
        retry_in: float | None = None
        if exc.permanent or attempts >= MAX_ATTEMPTS:
            _finish(delivery, DeliveryStatus.FAILED, exc=exc, outcome="gave_up", started=started)
            outcome = "gave_up"
        else:
            delay = float(SCHEDULE[attempts - 1])
            if exc.retry_after is not None:
                delay = max(delay, exc.retry_after)
            _finish(
                delivery,
                DeliveryStatus.PENDING,
                exc=exc,
                outcome="retry",
                started=started,
                next_attempt_at=now + timedelta(seconds=delay),
            )
            retry_in = delay
            outcome = "retry"
        if endpoint is not None:
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                failing_since=now
            )
            endpoint.refresh_from_db(fields=["failing_since", "enabled"])
            if (
                endpoint.enabled
                and endpoint.failing_since is not None
                and endpoint.failing_since <= now - DISABLE_AFTER
            ):
                days = (now - endpoint.failing_since).days
                disable(endpoint, f"Every delivery failed for {days} days (last: {exc}).")
    return outcome, retry_in


def _finish(
    delivery: Delivery,
    status: str,
    *,
    outcome: str,
    exc: TransportError | None = None,
    error: str = "",
    status_code: int | None = None,
    excerpt_: str = "",
    started: float | None = None,
    next_attempt_at: Any = None,
) -> None:
    now = timezone.now()
    if exc is not None:
        error, status_code, excerpt_ = str(exc), exc.status_code, exc.response_excerpt
    fields: dict[str, Any] = {
        "status": status,
        "lease_until": None,
        "last_status_code": status_code,
        "last_error": excerpt(error)[:500],
    }
    if outcome != "gave_up" or exc is not None:
        fields["attempts"] = delivery.attempts + 1
    if status == DeliveryStatus.DELIVERED:
        fields["delivered_at"] = now
    if next_attempt_at is not None:
        fields["next_attempt_at"] = next_attempt_at
    # Only while we hold the lease: a row redelivered by hand meanwhile is not overwritten.
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING).update(**fields)
    DeliveryAttempt.objects.create(
        delivery=delivery,
        at=now,
        status_code=status_code,
        duration_ms=int((time.monotonic() - started) * 1000) if started is not None else 0,
        response_excerpt=excerpt_[:500],
        error=excerpt(error)[:500],
        outcome=outcome,
    )


def disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop sending to an endpoint, record why, and tell its owner once it commits."""
    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:300], updated_at=timezone.now()
    )
    if not changed:
        return
    Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error="endpoint disabled"
    )
    audit.record(
        SYSTEM,
        "webhook.disabled",
        result="succeeded",
        target_type="webhook",
        target_id=str(endpoint.pk),
        reason=reason[:2000],
        details={"url": endpoint.url, "owner": endpoint.owner},
    )
    transaction.on_commit(lambda: tell_owner(endpoint, reason))


def tell_owner(endpoint: WebhookEndpoint, reason: str) -> None:
    page = f"{settings.PUBLIC_URL.rstrip('/')}/integrations/webhooks/{endpoint.pk}/"
    if not endpoint.owner_email:
        log.warning("webhook %s disabled; its owner has no email: %s", endpoint.pk, reason)
        return
    try:
        EmailTransport().notify(
            f"[opsconsole] Webhook disabled: {endpoint.url}",
            "\n".join(
                [
                    f"The webhook endpoint {endpoint.url} was disabled.",
                    "",
                    f"Why: {reason}",
                    "",
                    "Fix the receiver, then enable the endpoint again and redeliver what it "
                    f"missed: {page}",
                ]
            ),
            [endpoint.owner_email],
        )
    except TransportError as exc:
        log.warning(
            "could not tell %s that webhook %s was disabled: %s",
            endpoint.owner_email,
            endpoint.pk,
            exc,
        )


def next_due() -> int | None:
    """The oldest row due now that nobody holds (a task drains these after its own)."""
    found: int | None = (
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    return found


def due(limit: int = 500, now: Any = None) -> list[int]:
    """Rows the sweep should queue: pending and overdue (their task was lost or waits for
    the sweep), or sending with an expired lease (a worker died mid-send)."""
    now = now or timezone.now()
    return list(
        Delivery.objects.filter(
            Q(status=DeliveryStatus.PENDING, next_attempt_at__lte=now - timedelta(seconds=20))
            | Q(status=DeliveryStatus.SENDING, lease_until__lt=now)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
