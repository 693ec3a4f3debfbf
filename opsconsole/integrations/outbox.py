"""The event subscriber: one outbox row per matching webhook endpoint and channel, written in
the emitting transaction; their delivery is scheduled once that transaction commits."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction

from opsconsole.events import DomainEvent
from opsconsole.registry import get_registry

from . import tasks
from .config import channels
from .models import Delivery, WebhookEndpoint

log = logging.getLogger(__name__)


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def absolute(path: str) -> str:
    if not path or path.startswith(("http://", "https://")):
        return path
    return settings.PUBLIC_URL.rstrip("/") + path


def envelope_of(event: DomainEvent) -> dict[str, Any]:
    """The document every destination receives: the event's envelope with absolute links."""
    document = event.envelope()
    document["target"]["url"] = absolute(document["target"].get("url", ""))
    link = document["data"].get("link")
    if isinstance(link, str):
        document["data"]["link"] = absolute(link)
    return document


def channel_names(event: DomainEvent) -> set[str]:
    """The registry channels an event goes to: those an alert names, and those whose
    `events` list its type."""
    known = channels(get_registry())
    named: set[str] = set()
    if event.type.startswith("alert."):
        for name in event.data.get("channels") or []:
            if str(name) in known:
                named.add(str(name))
            else:
                log.warning("alert event %s names unknown channel %r", event.id, name)
    named |= {c.name for c in known.values() if event.type in c.events}
    return named


def on_event(event: DomainEvent) -> None:
    """Subscriber: write the outbox rows now, in the caller's transaction."""
    document = envelope_of(event)
    rows = [
        Delivery(
            event_id=event.id,
            event_type=event.type,
            envelope=document,
            endpoint=endpoint,
            destination_key=f"webhook:{endpoint.pk}",
            message_id=new_message_id(),
            next_attempt_at=event.occurred_at,
        )
        for endpoint in WebhookEndpoint.objects.filter(enabled=True)
        if endpoint.wants(event.type)
    ]
    rows += [
        Delivery(
            event_id=event.id,
            event_type=event.type,
            envelope=document,
            channel=name,
            destination_key=f"channel:{name}",
            message_id=new_message_id(),
            next_attempt_at=event.occurred_at,
        )
        for name in sorted(channel_names(event))
    ]
    if not rows:
        return
    Delivery.objects.bulk_create(rows)
    ids = list(
        Delivery.objects.filter(message_id__in=[r.message_id for r in rows]).values_list(
            "pk", flat=True
        )
    )
    transaction.on_commit(lambda: tasks.schedule(ids))
