"""Managing webhook endpoints (admins): add, change, enable/disable, rotate the secret,
remove, and redeliver. Each is audited; a secret is returned once and stored encrypted."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.events import EVENT_TYPES

from . import crypto, signing, tasks
from .destinations import DestinationRefused, check_url
from .errors import (
    DeliveryNotFound,
    EndpointDisabled,
    EndpointNotFound,
    IdempotencyKeyReused,
    InvalidEndpoint,
)
from .models import Delivery, DeliveryStatus, WebhookEndpoint

# How long the previous secret keeps signing after a rotation, so receivers can switch.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_URL = 500


@dataclass(frozen=True)
class WithSecret:
    endpoint: WebhookEndpoint
    secret: str  # shown once, never stored in clear
    created: bool = True  # False: the answer to a repeated Idempotency-Key


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise InvalidEndpoint(reason="A URL is required.", field="url")
    if len(url) > MAX_URL:
        raise InvalidEndpoint(reason=f"The URL is longer than {MAX_URL} characters.", field="url")
    try:
        check_url(url)
    except DestinationRefused as exc:
        raise InvalidEndpoint(reason=f"This URL is not allowed: {exc}.", field="url") from None
    return url


def _clean_types(event_types: Iterable[str]) -> list[str]:
    types = sorted({t.strip() for t in event_types if t and t.strip()})
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise InvalidEndpoint(
            reason=f"Unknown event types: {', '.join(unknown)}.", field="event_types"
        )
    return types


def get_endpoint(pk: int | str) -> WebhookEndpoint:
    try:
        found = WebhookEndpoint.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise EndpointNotFound(what=f"Webhook endpoint {pk}")
    return found


def create_endpoint(
    actor: Actor,
    *,
    url: str,
    event_types: Iterable[str] = (),
    description: str = "",
    owner_email: str = "",
    idempotency_key: str = "",
) -> WithSecret:
    """Subscribe a URL; the returned secret is the only time it is shown. With an
    idempotency key, the same caller sending the same request again (a retry after a lost
    answer) gets the endpoint it created and its secret, for REPLAY_WINDOW and until the
    secret is rotated, instead of a second subscription."""
    key = idempotency_key.strip()[:200]
    with audit.attempt(actor, "webhook.create", target_type="webhook", target_id="new") as a:
        url = _clean_url(url)
        types = _clean_types(event_types)
        if key and (earlier := _created_with(actor, key, url, types)) is not None:
            a.succeeded(endpoint=earlier.endpoint.pk, url=url, replayed=True)
            return earlier
        secret = signing.new_secret()
        try:
            with transaction.atomic():
                endpoint = WebhookEndpoint.objects.create(
                    url=url,
                    event_types=types,
                    description=description.strip()[:200],
                    secret_encrypted=crypto.encrypt(secret),
                    owner=actor.id,
                    owner_email=(owner_email.strip() or (actor.id if "@" in actor.id else ""))[
                        :255
                    ],
                    idempotency_key=key,
                )
        except IntegrityError:
            # The same key sent twice at once: the other request created it.
            earlier = _created_with(actor, key, url, types)
            if earlier is None:
                raise
            a.succeeded(endpoint=earlier.endpoint.pk, url=url, replayed=True)
            return earlier
        a.succeeded(endpoint=endpoint.pk, url=url, event_types=types)
    return WithSecret(endpoint, secret)


REPLAY_WINDOW = timedelta(hours=24)


def _created_with(actor: Actor, key: str, url: str, types: list[str]) -> WithSecret | None:
    """What an earlier request with this key created, answered again (or why not)."""
    earlier = WebhookEndpoint.objects.filter(owner=actor.id, idempotency_key=key).first()
    if earlier is None:
        return None
    if earlier.url != url or sorted(earlier.event_types) != sorted(types):
        raise IdempotencyKeyReused(
            endpoint=earlier.pk, reason="a different URL or event types; use a new key"
        )
    if timezone.now() - earlier.created_at > REPLAY_WINDOW or earlier.previous_secret_encrypted:
        raise IdempotencyKeyReused(
            endpoint=earlier.pk,
            reason="its secret is no longer shown (over 24 hours old, or rotated since); "
            "rotate the secret to get a new one",
        )
    return WithSecret(earlier, crypto.decrypt(earlier.secret_encrypted), created=False)


def update_endpoint(
    actor: Actor,
    pk: int | str,
    *,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    """Change an endpoint; enabling clears its failure history, so it gets a fresh start."""
    endpoint = get_endpoint(pk)
    with audit.attempt(
        actor, "webhook.update", target_type="webhook", target_id=str(endpoint.pk)
    ) as a:
        changes: dict[str, object] = {}
        if url is not None:
            changes["url"] = _clean_url(url)
        if event_types is not None:
            changes["event_types"] = _clean_types(event_types)
        if description is not None:
            changes["description"] = description.strip()[:200]
        if enabled is not None and enabled != endpoint.enabled:
            changes["enabled"] = enabled
            changes["disabled_reason"] = "" if enabled else f"Disabled by {actor.id}."
            if enabled:
                changes["failing_since"] = None
        for name, value in changes.items():
            setattr(endpoint, name, value)
        endpoint.updated_at = timezone.now()
        endpoint.save()
        a.succeeded(**{k: v for k, v in changes.items() if k != "failing_since"})
    return endpoint


def rotate_secret(actor: Actor, pk: int | str) -> WithSecret:
    """A new secret; the old one keeps signing beside it for ROTATION_OVERLAP."""
    endpoint = get_endpoint(pk)
    with audit.attempt(
        actor, "webhook.rotate_secret", target_type="webhook", target_id=str(endpoint.pk)
    ) as a:
        secret = signing.new_secret()
        endpoint.previous_secret_encrypted = endpoint.secret_encrypted
        endpoint.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
        endpoint.secret_encrypted = crypto.encrypt(secret)
        endpoint.updated_at = timezone.now()
        endpoint.save()
        a.succeeded(previous_expires_at=endpoint.previous_secret_expires_at.isoformat())
    return WithSecret(endpoint, secret)


def delete_endpoint(actor: Actor, pk: int | str) -> None:
    endpoint = get_endpoint(pk)
    with audit.attempt(
        actor, "webhook.delete", target_type="webhook", target_id=str(endpoint.pk)
    ) as a:
        url = endpoint.url
        endpoint.delete()
        a.succeeded(url=url)


def redeliver(actor: Actor, pk: int | str, delivery_pk: int | str) -> Delivery:
    """Send a delivery again, now, with its original webhook id."""
    endpoint = get_endpoint(pk)
    try:
        found = Delivery.objects.filter(pk=int(delivery_pk), endpoint=endpoint).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise DeliveryNotFound(what=f"Delivery {delivery_pk}")
    with audit.attempt(
        actor,
        "webhook.redeliver",
        target_type="webhook",
        target_id=str(endpoint.pk),
        details={"delivery": found.pk, "event_id": found.event_id},
    ) as a:
        if not endpoint.enabled:
            error = EndpointDisabled(endpoint=endpoint.pk)
            a.refused(error.code)
            raise error
        with transaction.atomic():
            Delivery.objects.filter(pk=found.pk).exclude(status=DeliveryStatus.SENDING).update(
                status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), lease_until=None
            )
            transaction.on_commit(lambda: tasks.schedule([found.pk]))
        a.succeeded()
    found.refresh_from_db()
    return found
