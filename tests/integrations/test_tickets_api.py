"""The ticketing system finds sagas by ticket and links tickets to sagas."""

from __future__ import annotations

import pytest

from opsconsole.audit.models import AuditEvent
from tests.sagas.factories import make_saga

pytestmark = pytest.mark.django_db


def test_it_finds_sagas_by_a_ticket_from_the_input_or_linked(viewer_client, operator_client):
    by_input = make_saga(key="1", ticket="INC0012345")
    linked = make_saga(key="2")
    make_saga(key="3", ticket="INC9")
    answer = operator_client.post(
        f"/api/v1/sagas/{linked.pk}/tickets/",
        {"number": "INC0012345"},
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert [t["number"] for t in answer.json()] == ["INC0012345"]
    found = viewer_client.get("/api/v1/tickets/INC0012345/sagas/").json()["results"]
    assert sorted(s["id"] for s in found) == sorted([by_input.pk, linked.pk])
    # linking again: 200, nothing new
    again = operator_client.post(
        f"/api/v1/sagas/{linked.pk}/tickets/",
        {"number": "INC0012345"},
        content_type="application/json",
    )
    assert again.status_code == 200
    assert AuditEvent.objects.filter(action="saga.link_ticket", result="succeeded").count() == 2


def test_a_viewer_may_read_but_not_link(viewer_client):
    saga = make_saga(key="1", ticket="INC1")
    assert viewer_client.get(f"/api/v1/sagas/{saga.pk}/tickets/").json()[0]["added_via"] == "input"
    refused = viewer_client.post(
        f"/api/v1/sagas/{saga.pk}/tickets/", {"number": "INC2"}, content_type="application/json"
    )
    assert refused.status_code == 403


def test_search_finds_a_saga_by_a_linked_ticket(viewer_client, operator_client):
    saga = make_saga(key="77")
    operator_client.post(f"/sagas/tickets/{saga.pk}/link", {"number": "CHG0042"})
    page = viewer_client.get("/sagas/search/", {"q": "CHG0042"})
    assert page.status_code == 302 and page["Location"].startswith("/sagas/orders/77/")


def test_the_tickets_panel_links_tickets_when_a_url_template_is_set(viewer_client, settings):
    settings.TICKET_URL_TEMPLATE = "https://tickets.example.com/browse/{ticket}"
    saga = make_saga(key="1", ticket="INC1")
    html = viewer_client.get(f"/sagas/tickets/{saga.pk}/panel/").content.decode()
    assert 'href="https://tickets.example.com/browse/INC1"' in html
    assert "Link a ticket" not in html  # viewers only read
