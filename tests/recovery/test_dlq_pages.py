"""The DLQ pages as a person meets them: the inbox, a message, search, the case-page panel,
the send-back preview and confirmation, and the API's view of the same."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from opsconsole.recovery.dlq import selectors
from opsconsole.recovery.models import DeadLetter, QueueDepth
from tests.recovery.dlq_factories import make_letter
from tests.sagas.factories import make_saga

pytestmark = pytest.mark.django_db


def test_the_inbox_puts_the_dlq_closest_to_losing_a_message_first(viewer_client):
    now = timezone.now()
    for name, visible in (("payments-dlq", 2), ("shipments-dlq", 1), ("closure-emails-dlq", 0)):
        QueueDepth.objects.create(
            name=name,
            queue=name,
            visible=visible,
            in_flight=0,
            checked_at=now,
            read_at=now,
            retention_seconds=14 * 86400,
        )
    make_letter("payments-dlq", sent_at=now - timedelta(days=1))
    make_letter("shipments-dlq", sent_at=now - timedelta(days=13))  # expires in about a day
    rows = selectors.inbox()
    assert [r.dlq.name for r in rows][:2] == ["shipments-dlq", "payments-dlq"]
    assert rows[0].expiry_soon and rows[0].expires_in < timedelta(days=1, minutes=1)
    page = viewer_client.get("/recovery/").content.decode()
    assert page.index('data-dlq="shipments-dlq"') < page.index('data-dlq="payments-dlq"')
    assert "in 23" in page or "in 1" in page  # time until the oldest expires


def test_a_message_page_escapes_markup_pretty_prints_json_and_masks_for_viewers(
    viewer_client, admin_client_
):
    letter = make_letter(
        body={
            "orderId": "9041",
            "note": '<script>alert("dlq")</script>',
            "customerEmail": "secret@example.net",
            "meta": {
                "correlationId": "corr-x",
                "causationId": "cause-1",
                "initiator": {"type": "user", "id": "olga"},
            },
        }
    )
    page = viewer_client.get(f"/recovery/dlq/messages/{letter.pk}/").content.decode()
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert "  &quot;orderId&quot;: &quot;9041&quot;" in page  # pretty-printed
    assert "secret@example.net" not in page and "••••••" in page
    assert "cause-1" in page and "user:olga" in page  # the envelope, called out
    admin_page = admin_client_.get(f"/recovery/dlq/messages/{letter.pk}/").content.decode()
    assert "secret@example.net" in admin_page


def test_a_huge_body_is_truncated_with_the_whole_as_a_download(viewer_client):
    body = "x" * (1024 * 1024)
    letter = make_letter(body=body)
    page = viewer_client.get(f"/recovery/dlq/messages/{letter.pk}/").content.decode()
    assert "Showing the first 64.0" in page
    assert page.count("x" * 1000) < 70
    download = viewer_client.get(f"/recovery/dlq/messages/{letter.pk}/body/")
    assert download["Content-Disposition"].startswith("attachment;")
    assert download["Content-Type"].startswith("text/plain")
    assert len(download.content) == 1024 * 1024


def test_a_body_that_is_not_json_is_shown_as_it_is(viewer_client):
    letter = make_letter(body="CAPTURE|9031|EUR|000012900|tok_visa|retry=3")
    page = viewer_client.get(f"/recovery/dlq/messages/{letter.pk}/").content.decode()
    assert "CAPTURE|9031|EUR|000012900" in page


def test_search_finds_a_dead_letter_by_each_id_and_by_a_json_path(viewer_client):
    letter = make_letter(
        message_id="mid-1", error_code="NO_PERMISSIONS", body={"data": {"sku": "LAMP-07"}}
    )
    make_letter(message_id="other", business_key="1", correlation_id="c-1")
    for q in ("8847", "corr-orders-8847", "mid-1", "NO_PERMISSIONS", "$.data.sku=LAMP-07"):
        found = selectors.search(q)
        assert [d.pk for d in found.results] == [letter.pk], q
    page = viewer_client.get("/recovery/dlq/search/?q=8847").content.decode()
    assert f'data-letter="{letter.pk}"' in page
    api = viewer_client.get("/api/v1/dead-letters/?q=mid-1").json()
    assert [d["id"] for d in api] == [letter.pk]


def test_the_case_page_panel_lists_the_sagas_dead_letters(viewer_client):
    saga = make_saga("orders", "8847", "failed")
    letter = make_letter(correlation_id=saga.correlation_id, business_key="8847")
    make_letter(business_key="9999", correlation_id="nope")
    panel = viewer_client.get(
        f"/recovery/dlq/saga/{saga.pk}/panel/", headers={"HX-Request": "true"}
    ).content.decode()
    assert panel.startswith('<section id="dead-letters-panel"')
    assert f'data-letter="{letter.pk}"' in panel
    assert panel.count("data-letter=") == 1
    case = viewer_client.get(saga.get_absolute_url()).content.decode()
    assert 'id="dead-letters-panel"' in case
    detail = viewer_client.get(f"/recovery/dlq/messages/{letter.pk}/").content.decode()
    assert "/sagas/orders/8847/?run=" in detail


def test_sending_back_shows_a_preview_and_asks_for_a_ticket_before_anything_happens(
    operator_client,
):
    a, b = make_letter("payments-dlq"), make_letter("payments-dlq")
    preview = operator_client.post(
        "/recovery/dlq/send-back/", {"ids": [a.pk, b.pk], "action": "redrive"}
    )
    html = preview.content.decode()
    assert preview.status_code == 200
    assert "Send back 2 dead letters" in html
    assert "<code>payments</code>" in html  # where they go
    assert 'name="idempotency_key"' in html
    refused = operator_client.post(
        "/recovery/dlq/send-back/",
        {
            "ids": [a.pk],
            "action": "redrive",
            "step": "confirm",
            "confirm": "1",
            "ticket": "",
            "idempotency_key": "x",
        },
    )
    assert refused.status_code == 400
    assert "A ticket reference is required." in refused.content.decode()
    assert not DeadLetter.objects.exclude(state=DeadLetter.PRESENT).exists()


def test_the_edit_page_shows_the_change_as_a_diff_and_refuses_broken_json(operator_client):
    letter = make_letter(body={"orderId": "8847", "postcode": "ZZ9 9ZZ"})
    url = f"/recovery/dlq/messages/{letter.pk}/edit/"
    assert operator_client.get(url).status_code == 200
    bad = operator_client.post(url, {"body": '{"orderId": ', "step": "preview"})
    assert bad.status_code == 400 and "Not valid JSON" in bad.content.decode()
    shown = operator_client.post(
        url, {"body": json.dumps({"orderId": "8847", "postcode": "EC1A 1BB"}), "step": "preview"}
    ).content.decode()
    assert "-  &quot;postcode&quot;: &quot;ZZ9 9ZZ&quot;" in shown
    assert "+  &quot;postcode&quot;: &quot;EC1A 1BB&quot;" in shown


def test_the_api_shows_a_message_masked_for_its_caller(viewer_client):
    letter = make_letter(body={"orderId": "1", "customerEmail": "secret@example.net"})
    body = viewer_client.get(f"/api/v1/dead-letters/{letter.pk}/").json()
    assert "secret@example.net" not in body["body"]
    assert body["business_key"] == "8847" and body["state"] == "present"
