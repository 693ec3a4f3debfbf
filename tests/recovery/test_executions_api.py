"""The same recovery through the REST API: a ticketing system redrives, restarts, stops and
resolves, dry-runs and submits bulk jobs, and replays archives; refusals are problem+json."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from opsconsole.aws import dynamodb, stepfunctions
from opsconsole.recovery.executions.models import SagaAction
from tests.helpers import wait_until
from tests.recovery import test_executions as base
from tests.recovery.test_executions import TABLE, _finished

pytestmark = pytest.mark.django_db

failed = base.failed  # the fixture: a booking saga failed at BookSlot


def _post(client, url, body, **headers):
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def test_a_redrive_through_the_api_with_a_retried_key_is_one_redrive(failed, operator_client):
    dynamodb.put_item(TABLE, {"pk": "SLOT#1"})
    url = f"/api/v1/sagas/{failed.pk}/recovery/redrive/"
    first = _post(operator_client, url, {"ticket": "INC9"}, **{"Idempotency-Key": "k-1"})
    again = _post(operator_client, url, {"ticket": "INC9"}, **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["state"] == "verifying"
    _finished(failed.execution_arn)
    assert stepfunctions.describe_execution(failed.execution_arn).redrive_count == 1
    summary = operator_client.get(f"/api/v1/sagas/{failed.pk}/recovery/").json()
    assert [a["action"] for a in summary["actions"]] == ["redrive"]
    assert {o["action"]: o["allowed"] for o in summary["options"]}["stop"] is False


def test_an_ineligible_action_is_a_conflict_with_the_reason(failed, operator_client):
    response = _post(operator_client, f"/api/v1/sagas/{failed.pk}/recovery/stop/", {"reason": "x"})
    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/problem+json")
    assert "not running" in response.json()["detail"]


def test_a_restart_with_a_corrected_input_and_a_too_large_one(failed, operator_client):
    url = f"/api/v1/sagas/{failed.pk}/recovery/restart/"
    big = _post(operator_client, url, {"input": {"x": "a" * 262_200}})
    assert big.status_code == 400
    assert "256 KB" in big.json()["detail"]
    assert not SagaAction.objects.exists()
    ok = _post(operator_client, url, {"input": {"slot": "SLOT#3"}, "ticket": "INC3"})
    assert ok.status_code == 201
    new = _finished(ok.json()["new_execution_arn"])
    assert json.loads(new.input) == {"slot": "SLOT#3"}


def test_viewers_may_read_and_dry_run_but_not_act(failed, viewer_client):
    assert viewer_client.get(f"/api/v1/sagas/{failed.pk}/recovery/").status_code == 200
    run = _post(
        viewer_client, "/api/v1/recovery/bulk/dry-run/", {"kind": "orders", "action": "redrive"}
    )
    assert run.status_code == 200
    assert run.json()["eligible"] == 1
    refused = _post(viewer_client, f"/api/v1/sagas/{failed.pk}/recovery/redrive/", {})
    assert refused.status_code == 403
    bulk = _post(viewer_client, "/api/v1/recovery/bulk/", {"kind": "orders", "action": "redrive"})
    assert bulk.status_code == 403


def test_a_bulk_job_through_the_api(failed, operator_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    body = {"kind": "orders", "action": "redrive", "filters": {"status": "failed"}}
    first = _post(operator_client, "/api/v1/recovery/bulk/", body, **{"Idempotency-Key": "b1"})
    again = _post(operator_client, "/api/v1/recovery/bulk/", body, **{"Idempotency-Key": "b1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["counts"]["total"] == 1


def test_a_replay_window_in_the_future_is_refused_through_the_api(aws, operator_client):
    from opsconsole.emulator import world

    world.build()
    now = timezone.now()
    body = {
        "archive": "orders-archive",
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": (now + timedelta(hours=1)).isoformat(),
    }
    response = _post(operator_client, "/api/v1/recovery/replays/", body)
    assert response.status_code == 400
    assert "future" in response.json()["detail"]
    body["end"] = now.isoformat()
    started = _post(operator_client, "/api/v1/recovery/replays/", body, **{"Idempotency-Key": "r"})
    assert started.status_code == 201
    # AWS answers STARTING and replays in the background; the replay's resource follows it.
    assert started.json()["state"] in ("STARTING", "RUNNING", "COMPLETED")
    url = f"/api/v1/recovery/replays/{started.json()['id']}/"
    wait_until(
        lambda: operator_client.get(url).json()["state"] == "COMPLETED",
        what="the replay to complete",
    )
