"""The audit page: admins only, filters, keyset pages, CSV export."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from opsconsole.audit import views
from opsconsole.audit.log import Actor, record
from opsconsole.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _fact(actor: str = "ops@example.com", action: str = "saga.redrive", **kw) -> AuditEvent:
    return record(
        Actor(type="user", id=actor, sub=actor.split("@")[0], role="operator"),
        action,
        result=kw.pop("result", "succeeded"),
        **kw,
    )


@pytest.mark.parametrize("role", ["viewer", "operator", "approver"])
def test_it_shows_the_audit_log_to_admins_only(clients_by_role, role):
    assert clients_by_role[role].get("/audit/").status_code == 403
    assert clients_by_role[role].get("/audit/export.csv").status_code == 403


def test_it_filters_by_who_action_target_ticket_and_time(admin_client_):
    _fact(target_type="saga", target_id="order-8842", ticket="INC-1")
    _fact(
        actor="anna@example.com", action="approval.decide", target_type="approval", target_id="a-1"
    )
    _fact(action="queue.redrive", target_type="queue", target_id="orders-dlq", ticket="INC-2")

    def actions(query: str) -> list[str]:
        response = admin_client_.get(f"/audit/?{query}")
        assert response.status_code == 200
        return [e.action for e in response.context["events"]]

    assert actions("who=anna") == ["approval.decide"]
    assert actions("action=queue.") == ["queue.redrive"]
    assert actions("target_type=saga&target=order-8842") == ["saga.redrive"]
    assert actions("ticket=INC-2") == ["queue.redrive"]
    assert actions("since=2000-01-01T00:00&until=2999-01-01T00:00") == [
        "queue.redrive",
        "approval.decide",
        "saga.redrive",
    ]
    assert actions("since=2999-01-01T00:00") == []
    assert "order-8842" in admin_client_.get("/audit/?ticket=INC-1").content.decode()


def test_it_explains_bad_filters(admin_client_):
    response = admin_client_.get("/audit/?since=2030-01-01T00:00&until=2020-01-01T00:00")
    assert response.status_code == 200
    assert "after" in response.content.decode()


def test_it_pages_through_a_long_log_newest_first(
    admin_client_, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(views, "PAGE_SIZE", 5)
    for i in range(12):
        _fact(target_id=f"order-{i}")
    seen: list[str] = []
    url = "/audit/?action=saga."
    while url:
        with django_assert_max_num_queries(8):
            response = admin_client_.get(url)
        seen += [e.target_id for e in response.context["events"]]
        older = response.context["older_query"]
        url = f"/audit/?{older}" if older else ""
    assert seen == [f"order-{i}" for i in reversed(range(12))]


def test_it_exports_the_filtered_log_as_csv_and_audits_the_export(admin_client_):
    _fact(target_id="order-1", ticket="INC-1", reason='=HYPERLINK("http://evil")')
    _fact(target_id="order-2", ticket="INC-2")

    response = admin_client_.get("/audit/export.csv?ticket=INC-1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["target_id"] for r in rows] == ["order-1"]
    assert rows[0]["reason"].startswith("'="), "formulas are neutralised for spreadsheets"
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor == "admin@example.com" and export.details == {
        "filters": {"ticket": "INC-1"}
    }


def test_it_renders_the_audit_page_with_a_constant_number_of_queries(admin_client_):
    _fact(target_id="order-0")
    with CaptureQueriesContext(connection) as one_event:
        assert admin_client_.get("/audit/").status_code == 200
    for i in range(1, 60):
        _fact(target_id=f"order-{i}", ticket=f"INC-{i}")
    with CaptureQueriesContext(connection) as a_full_page:
        assert admin_client_.get("/audit/").status_code == 200
    assert len(a_full_page.captured_queries) == len(one_event.captured_queries)


def test_it_shows_the_newest_events_for_a_page_link_it_cannot_read(admin_client_):
    for i in range(3):
        _fact(target_id=f"order-{i}")
    response = admin_client_.get("/audit/?before=not-an-id")
    assert [e.target_id for e in response.context["events"]] == ["order-2", "order-1", "order-0"]
    assert response.context["paged"] is False


def test_it_links_back_to_the_newest_events_keeping_the_filters(admin_client_, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    for i in range(3):
        _fact(target_id=f"order-{i}")
    first = admin_client_.get("/audit/?action=saga.")
    older = admin_client_.get(f"/audit/?{first.context['older_query']}")
    assert [e.target_id for e in older.context["events"]] == ["order-0"]
    assert older.context["paged"] is True
    assert older.context["newest_query"] == "action=saga."
    assert older.context["older_query"] is None


def test_it_links_each_target_to_its_page_where_its_feature_says_how(admin_client_):
    from opsconsole.audit.log import Actor, record

    actor = Actor(type="user", id="olga@example.com", role="operator")
    record(actor, "job.pause", result="succeeded", target_type="job", target_id="41")
    record(actor, "approval.approve", result="succeeded", target_type="approval", target_id="7")
    record(actor, "thing.poke", result="succeeded", target_type="thing", target_id="3")

    page = admin_client_.get("/audit/").content.decode()

    assert 'href="/recovery/jobs/41/"' in page
    assert 'href="/approvals/7/"' in page
    assert '<span class="mono" title="3">3</span>' in page  # nobody says how: no link
