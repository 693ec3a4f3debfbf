"""The state machine graph with the path taken, and the raw event history (masked)."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache

from opsconsole.aws import stepfunctions
from sagas.graph import layout
from sagas.models import SyncState
from sagas.timeline import build_timeline, events_from_json

from .factories import HISTORIES, saga_from_history

DEFINITION = {
    "StartAt": "Reserve",
    "States": {
        "Reserve": {"Type": "Task", "Resource": "x", "Next": "Charge"},
        "Charge": {
            "Type": "Task",
            "Resource": "x",
            "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Release"}],
        },
        "Release": {"Type": "Task", "Resource": "x", "Next": "Failed"},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Fail", "Error": "X"},
    },
}


def _declined_timeline():
    doc = json.loads((HISTORIES / "order_declined.json").read_text())
    return build_timeline(events_from_json(doc["events"]))


def test_it_lays_out_every_state_top_to_bottom_and_marks_the_path_and_the_failure():
    from tests.sagas.test_foreign_machines import compensation_failed_history

    tl = build_timeline(compensation_failed_history())
    # Reuse the hand-made history with names of this definition.
    g = layout(
        {
            "StartAt": "ReserveStock",
            "States": {
                "ReserveStock": {"Type": "Task", "Next": "ChargeCard"},
                "ChargeCard": {
                    "Type": "Task",
                    "Next": "Done",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "ReleaseStock"}],
                },
                "ReleaseStock": {"Type": "Task", "Next": "RefundPayment"},
                "RefundPayment": {
                    "Type": "Task",
                    "Next": "Done",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "UnwindFailed"}],
                },
                "Done": {"Type": "Succeed"},
                "UnwindFailed": {"Type": "Fail"},
            },
        },
        tl,
        compensation_steps=frozenset({"ReleaseStock", "RefundPayment"}),
    )
    nodes = {n.name: n for n in g.nodes}
    assert set(nodes) == {
        "ReserveStock",
        "ChargeCard",
        "ReleaseStock",
        "RefundPayment",
        "Done",
        "UnwindFailed",
    }
    assert nodes["ReserveStock"].y < nodes["ChargeCard"].y < nodes["ReleaseStock"].y
    assert "visited" in nodes["ChargeCard"].css and "failed" in nodes["ChargeCard"].css
    assert "failed" in nodes["RefundPayment"].css and "comp" in nodes["RefundPayment"].css
    assert "visited" not in nodes["Done"].css
    assert sum(1 for e in g.edges if "taken" in e.css) == 4
    assert any("catch" in e.css for e in g.edges)
    assert all(n.x >= 0 and n.x + n.width <= g.width for n in g.nodes)


@pytest.mark.django_db
def test_it_shows_the_graph_on_the_case_page(viewer_client, monkeypatch):
    cache.clear()
    SyncState.objects.create(kind="orders")
    saga = saga_from_history("order_declined", business_status="CANCELLED_COMPENSATED")
    monkeypatch.setattr(
        stepfunctions,
        "execution_definition",
        lambda arn, env=None: {
            "StartAt": "ValidateOrder",
            "States": {
                "ValidateOrder": {"Type": "Task", "Next": "ChargePayment"},
                "ChargePayment": {"Type": "Task", "Next": "Nope"},
                "Nope": {"Type": "Succeed"},
            },
        },
    )
    html = viewer_client.get(f"/sagas/orders/{saga.business_key}/").content.decode()
    assert "data-graph" in html
    assert 'class="node t-task visited failed" data-state="ChargePayment"' in html
    assert 'class="node t-succeed" data-state="Nope"' in html


@pytest.mark.django_db
def test_it_serves_every_history_event_masked_to_read_and_download(viewer_client):
    SyncState.objects.create(kind="orders")
    saga = saga_from_history("order_declined", business_status="CANCELLED_COMPENSATED")
    doc = json.loads((HISTORIES / "order_declined.json").read_text())
    case = viewer_client.get(f"/sagas/orders/{saga.business_key}/").content.decode()
    assert "data-history-link" in case
    url = f"/sagas/orders/{saga.business_key}/history/?run={saga.execution_name}"
    page = viewer_client.get(url).content.decode()
    assert page.count('data-event="') == len(doc["events"])
    assert "Download JSON" in page and "data-copy" in page
    raw = json.dumps(doc["events"])
    assert "customer8843@example.net" in raw  # the recorded input holds the e-mail ...
    assert "customer8843@example.net" not in page  # ... which a viewer never sees
    download = viewer_client.get(url + "&download=1")
    assert download["Content-Type"] == "application/json"
    assert "attachment" in download["Content-Disposition"]
    events = json.loads(download.content)
    assert [e["id"] for e in events] == [e["id"] for e in doc["events"]]
    assert "customer8843@example.net" not in download.content.decode()


def test_the_graph_reads_the_definition_the_run_started_with_not_a_later_deploy(aws):
    from opsconsole.aws import stepfunctions as sfn

    role = "arn:aws:iam::123456789012:role/sfn"
    before = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}
    arn = sfn.ensure_state_machine("Deployed", before, role)
    run = sfn.start_execution(arn, "run-1", {"data": {"orderId": "1"}})
    after = {"StartAt": "Renamed", "States": {"Renamed": {"Type": "Pass", "End": True}}}
    sfn.update_definition(arn, after)
    assert sfn.state_machine_definition(arn)["StartAt"] == "Renamed"
    assert sfn.execution_definition(run)["StartAt"] == "Wait"
