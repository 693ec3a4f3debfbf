"""Permission-matrix entries for the integrations pages and API (admins only)."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import api, page


def _endpoint() -> dict[str, Any]:
    from opsconsole.integrations.crypto import encrypt
    from opsconsole.integrations.models import WebhookEndpoint

    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.com/x", secret_encrypted=encrypt("whsec_AAAA"), owner="admin"
    )
    return {"pk": endpoint.pk}


def _delivery() -> dict[str, Any]:
    from opsconsole.integrations.models import Delivery

    pk = _endpoint()["pk"]
    row = Delivery.objects.create(
        event_id="e1",
        event_type="saga.stopped",
        envelope={"id": "e1"},
        endpoint_id=pk,
        destination_key=f"webhook:{pk}",
        message_id=f"msg_matrix_{pk}",
        status="failed",
    )
    return {"pk": pk, "delivery_pk": row.pk}


URL_PERMISSIONS = {
    "integrations:webhooks": page("admin"),
    "integrations:endpoint": page("admin", kwargs=_endpoint),
    "integrations:set_enabled": page(
        "admin", method="POST", kwargs=_endpoint, data={"enabled": "0"}, ok=303
    ),
    "integrations:rotate": page("admin", method="POST", kwargs=_endpoint),
    "integrations:delete": page("admin", method="POST", kwargs=_endpoint, ok=303),
    "integrations:delivery": page("admin", kwargs=_delivery),
    # Disabled endpoint is refused with a message; the page answers 303 either way.
    "integrations:redeliver": page("admin", method="POST", kwargs=_delivery, ok=303),
    "api-webhooks": api("admin"),
    "api-webhook": api("admin", kwargs=_endpoint),
    "api-webhook-rotate": api("admin", method="POST", kwargs=_endpoint),
    "api-webhook-deliveries": api("admin", kwargs=_endpoint),
    "api-webhook-redeliver": api("admin", method="POST", kwargs=_delivery, ok=202),
}
