"""The job page and API: progress a person can watch, and controls only operators get."""

from __future__ import annotations

import pytest

from opsconsole.audit.log import Actor
from opsconsole.recovery import jobs
from opsconsole.recovery.models import Job, JobItem

from .test_jobs import Recorder

pytestmark = pytest.mark.django_db(transaction=True)

OLGA = Actor(type="user", id="olga@example.com", role="operator")


@pytest.fixture
def paused_job(settings):
    handler = Recorder()
    jobs.register(handler)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    job, _ = jobs.submit(
        "test.record",
        actor=OLGA,
        items=[(f"msg-{i}", {}) for i in range(120)] + [("bad", {})],
        idempotency_key="page-1",
        ticket="INC0042",
        preview={
            "queue": "payments-dlq",
            "messages": 121,
            "groups": [{"dlq": "payments-dlq", "count": 121}],
            "cannot_send": 0,
        },
    )
    jobs.run(job.pk)  # a first slice: everything, since no rate is set
    job.refresh_from_db()
    yield job
    jobs._handlers.pop(handler.kind, None)


def test_it_shows_progress_results_and_what_was_asked(operator_client, paused_job):
    page = operator_client.get(f"/recovery/jobs/{paused_job.pk}/").content.decode()
    assert "Record items" in page and "INC0042" in page and "payments-dlq" in page
    # The confirmed impact reads as words and JSON, not as Python.
    assert "Cannot send" in page and "&quot;count&quot;: 121" in page and "{&#x27;" not in page
    assert "100%" in page and "120 succeeded" in page and "1 failed" in page
    assert 'rel="next"' in page  # 121 items: more than one page
    failed = operator_client.get(f"/recovery/jobs/{paused_job.pk}/?state=failed").content.decode()
    assert "refused by AWS" in failed and "msg-7" not in failed


def test_an_active_job_polls_its_progress_and_offers_controls_to_operators_only(
    operator_client, viewer_client, paused_job
):
    Job.objects.filter(pk=paused_job.pk).update(state=Job.PAUSED)
    url = f"/recovery/jobs/{paused_job.pk}/"
    fragment = operator_client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="job-progress")
    html = fragment.content.decode()
    assert html.lstrip().startswith('<section id="job-progress"')
    assert "every 2s" in html and "Resume" in html and "Cancel the rest" in html
    viewer_html = viewer_client.get(url).content.decode()
    assert "Resume" not in viewer_html and "Cancel the rest" not in viewer_html


def test_cancel_asks_first_then_cancels_what_is_left(operator_client, settings):
    handler = Recorder()
    jobs.register(handler)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    job, _ = jobs.submit(
        "test.record", actor=OLGA, items=[(f"m{i}", {}) for i in range(4)], idempotency_key="c"
    )
    ask = operator_client.get(f"/recovery/jobs/{job.pk}/cancel/").content.decode()
    assert "4 of 4 items have not been taken yet" in ask
    assert Job.objects.get(pk=job.pk).state == Job.PENDING  # asking changed nothing
    done = operator_client.post(f"/recovery/jobs/{job.pk}/cancel/", follow=True)
    assert Job.objects.get(pk=job.pk).state == Job.CANCELLED
    assert "cancel done" in done.content.decode()
    assert JobItem.objects.filter(job=job, state=JobItem.CANCELLED).count() == 4


def test_the_api_reports_counts_and_refuses_to_pause_an_ended_job(operator_client, paused_job):
    body = operator_client.get(f"/api/v1/jobs/{paused_job.pk}/").json()
    assert body["counts"]["succeeded"] == 120 and body["counts"]["failed"] == 1
    assert body["state"] == "finished" and body["progress_percent"] == 100
    assert body["actor"] == {"type": "user", "id": "olga@example.com", "role": "operator"}
    items = operator_client.get(f"/api/v1/jobs/{paused_job.pk}/items/?state=failed").json()
    assert [i["key"] for i in items["results"]] == ["bad"]
    refused = operator_client.post(f"/api/v1/jobs/{paused_job.pk}/pause/")
    assert refused.status_code == 409
    assert refused.json()["code"] == "job.state_conflict"
