"""What an admin does: add an endpoint on the page (the secret shown once), see its log,
redeliver; and the same through the API."""

from __future__ import annotations

import pytest
from django.db import transaction

from opsconsole import events
from opsconsole.audit.models import AuditEvent
from opsconsole.integrations.models import Delivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


def _emit():
    with transaction.atomic():
        events.emit("approval.requested", target=events.Target(type="approval", id="1"))


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once_then_its_deliveries(
    admin_client_, receiver, outbound
):
    page = admin_client_.post(
        "/integrations/",
        {"url": receiver.url + "/hooks/demo", "event_types": ["approval.requested"]},
    )
    assert page.status_code == 200
    html = page.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    secret = html.split("data-secret>")[1].split("<")[0]
    assert secret.startswith("whsec_")
    receiver.receiver.set_secret("/hooks/demo", secret)
    _emit()
    assert receiver.receiver.snapshot()["receipts"][0]["verified"] is True
    detail = admin_client_.get(f"/integrations/webhooks/{endpoint.pk}/").content.decode()
    assert secret not in detail  # never again
    assert "approval.requested" in detail and "Delivered" in detail
    row = Delivery.objects.get(endpoint=endpoint)
    again = admin_client_.post(
        f"/integrations/webhooks/{endpoint.pk}/deliveries/{row.pk}/redeliver"
    )
    assert again.status_code == 303
    assert receiver.receiver.snapshot()["duplicates"] == 1


def test_the_page_refuses_an_internal_url_with_the_reason(admin_client_, settings):
    settings.INTEGRATIONS_ALLOWED_DESTINATIONS = []
    page = admin_client_.post("/integrations/", {"url": "http://10.0.0.1/x"})
    assert page.status_code == 400
    assert "loopback or private" in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_disable_enable_and_rotate_from_the_page(admin_client_, receiver, outbound):
    admin_client_.post("/integrations/", {"url": receiver.url + "/h"})
    endpoint = WebhookEndpoint.objects.get()
    admin_client_.post(f"/integrations/webhooks/{endpoint.pk}/enabled", {"enabled": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "Disabled by admin" in endpoint.disabled_reason
    admin_client_.post(f"/integrations/webhooks/{endpoint.pk}/enabled", {"enabled": "1"})
    rotated = admin_client_.post(f"/integrations/webhooks/{endpoint.pk}/rotate").content.decode()
    assert "previous secret keeps signing" in rotated
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"webhook.create", "webhook.update", "webhook.rotate_secret"} <= actions


def test_the_api_subscribes_lists_changes_and_shows_the_log(admin_client_, receiver, outbound):
    created = admin_client_.post(
        "/api/v1/webhooks/",
        {"url": receiver.url + "/api-hook", "event_types": ["approval.requested"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    pk = body["endpoint"]["id"]
    listed = admin_client_.get("/api/v1/webhooks/").json()["results"]
    assert [e["id"] for e in listed] == [pk] and "secret" not in listed[0]
    _emit()
    log = admin_client_.get(f"/api/v1/webhooks/{pk}/deliveries/").json()["results"]
    assert log[0]["status"] == "delivered" and log[0]["attempts_log"][0]["status_code"] == 200
    assert log[0]["created_at"].endswith("Z")
    changed = admin_client_.patch(
        f"/api/v1/webhooks/{pk}/", {"enabled": False}, content_type="application/json"
    )
    assert changed.json()["enabled"] is False
    bad = admin_client_.post(
        "/api/v1/webhooks/", {"url": "x", "event_types": ["nope"]}, content_type="application/json"
    )
    assert bad.status_code == 400 and bad["content-type"] == "application/problem+json"
    assert admin_client_.delete(f"/api/v1/webhooks/{pk}/").status_code == 204
    assert admin_client_.get(f"/api/v1/webhooks/{pk}/").status_code == 404


def test_viewers_and_operators_cannot_manage_webhooks(clients_by_role):
    for role in ("viewer", "operator", "approver"):
        assert clients_by_role[role].get("/api/v1/webhooks/").status_code == 403
        assert clients_by_role[role].get("/integrations/").status_code == 403


def test_a_create_retried_with_its_idempotency_key_answers_the_same_endpoint(
    admin_client_, receiver, outbound
):
    def create(key: str, url: str) -> object:
        return admin_client_.post(
            "/api/v1/webhooks/",
            {"url": url, "event_types": ["saga.failed"]},
            content_type="application/json",
            headers={"Idempotency-Key": key},
        )

    first = create("create-1", f"{receiver.url}/hooks/a")
    again = create("create-1", f"{receiver.url}/hooks/a")  # the answer was lost: a retry
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()  # the same endpoint, and its secret
    assert WebhookEndpoint.objects.count() == 1
    other = create("create-1", f"{receiver.url}/hooks/b")  # the key reused for something else
    assert other.status_code == 409
    assert other.json()["code"] == "webhook.idempotency_key_reused"
    pk = first.json()["endpoint"]["id"]
    admin_client_.post(f"/api/v1/webhooks/{pk}/rotate-secret/")
    rotated = create("create-1", f"{receiver.url}/hooks/a")
    assert rotated.status_code == 409 and "rotated" in rotated.json()["detail"]
    assert WebhookEndpoint.objects.count() == 1
