"""The alerts pages, acknowledging and silencing from them, the dashboard, the API and
/metrics, as a person or a client sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from opsconsole.audit.models import AuditEvent
from opsconsole.monitoring import series
from opsconsole.monitoring.models import Alert, Silence, Transition
from tests.monitoring.factories import make_alert, make_silence

pytestmark = pytest.mark.django_db


def test_the_alerts_page_lists_what_fires_with_a_link_to_what_it_is_about(viewer_client):
    alert = make_alert(link="/recovery/#dlq-payments-dlq")
    make_alert(rule="quiet-one", fingerprint="q", state="normal")
    html = viewer_client.get("/alerts/").content.decode()
    assert 'data-alert="dlq-not-empty" data-alert-state="firing"' in html
    assert 'href="/recovery/#dlq-payments-dlq"' in html
    assert "quiet-one" not in html.split("Alert rules")[0]
    assert f'action="/alerts/{alert.pk}/acknowledge/"' not in html  # a viewer cannot act


def test_every_role_sees_the_firing_count_in_the_navigation_and_on_the_overview(clients_by_role):
    make_alert()
    for client in clients_by_role.values():
        assert "Alerts (1 firing)" in client.get("/alerts/").content.decode()
    home = clients_by_role["viewer"].get("/").content.decode()
    assert 'data-counter="alerts-firing"' in home and "alerts firing" in home


def test_an_operator_acknowledges_from_the_page(operator_client):
    alert = make_alert()
    response = operator_client.post(f"/alerts/{alert.pk}/acknowledge/", {"note": "on it"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == "operator@example.com" and alert.ack_note == "on it"
    page = operator_client.get(response["Location"]).content.decode()
    assert "by operator@example.com" in page and "on it" in page
    assert AuditEvent.objects.filter(action="alert.acknowledge", result="succeeded").exists()


def test_the_alert_page_shows_its_history_with_the_samples_that_made_it_fire(viewer_client):
    alert = make_alert()
    Transition.objects.create(
        alert=alert,
        from_state="normal",
        to_state="firing",
        value=3,
        at=timezone.now(),
        samples=[["2026-11-30T12:00:00+00:00", 2.0], ["2026-11-30T12:00:15+00:00", 3.0]],
        outcome="emitted",
    )
    key = series.signal_key("dlq_depth", alert.labels)
    series.write([(key, timezone.now() - timedelta(minutes=m), float(m)) for m in range(5)])
    html = viewer_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'data-transition="firing"' in html and "normal → <strong>firing</strong>" in html
    assert "<svg" in html and "<polyline" in html and "The numbers" in html


def test_an_operator_silences_by_matchers_and_ends_it(operator_client, viewer_client):
    response = operator_client.post(
        "/alerts/silences/new/",
        {
            "matchers": "alertname=dlq-not-empty\ndlq=payments-dlq",
            "minutes": "60",
            "reason": "redrive",
        },
    )
    assert response.status_code == 302
    silence = Silence.objects.get()
    assert silence.matchers == {"alertname": "dlq-not-empty", "dlq": "payments-dlq"}
    assert silence.created_by == "operator@example.com" and silence.reason == "redrive"
    assert timedelta(minutes=59) < silence.ends_at - timezone.now() <= timedelta(minutes=60)
    make_alert()
    assert "silenced" in viewer_client.get("/alerts/").content.decode()
    operator_client.post(f"/alerts/silences/{silence.pk}/expire/")
    silence.refresh_from_db()
    assert silence.expired_by == "operator@example.com"
    assert 'data-silence-state="expired"' in viewer_client.get("/alerts/silences/").content.decode()


def test_a_silence_without_a_reason_is_refused_with_the_reason(operator_client):
    response = operator_client.post(
        "/alerts/silences/new/", {"matchers": "alertname=x", "minutes": "60", "reason": " "}
    )
    assert response.status_code == 400
    assert not Silence.objects.exists()


def test_a_silence_ends_by_itself():
    from opsconsole.monitoring.actions import silence_state

    s = make_silence(ends_at=timezone.now() + timedelta(seconds=1))
    assert silence_state(s) == "active"
    assert silence_state(s, timezone.now() + timedelta(seconds=2)) == "expired"


def test_the_dashboard_charts_each_range_with_a_table_fallback(viewer_client):
    now = timezone.now()
    key = series.signal_key(
        "dlq_depth", {"dlq": "payments-dlq", "queue": "payments-dlq", "kind": "orders"}
    )
    series.write([(key, now - timedelta(minutes=m), float(m % 4)) for m in range(30)])
    for span in ("1h", "24h", "7d"):
        html = viewer_client.get(f"/alerts/dashboard/?range={span}").content.decode()
        assert 'data-chart="DLQ depth (messages)"' in html
        assert "payments-dlq" in html and "<polyline" in html and "<table" in html


def test_the_api_lists_alerts_their_history_and_acknowledges(clients_by_role):
    alert = make_alert()
    Transition.objects.create(
        alert=alert, from_state="normal", to_state="firing", value=3, at=timezone.now()
    )
    viewer, operator = clients_by_role["viewer"], clients_by_role["operator"]
    listed = viewer.get("/api/v1/alerts/?state=firing").json()
    assert [a["rule"] for a in listed["results"]] == ["dlq-not-empty"]
    assert listed["results"][0]["state_since"].endswith("Z")
    history = viewer.get(f"/api/v1/alerts/{alert.pk}/history/").json()
    assert history["results"][0]["to_state"] == "firing"
    assert viewer.post(f"/api/v1/alerts/{alert.pk}/acknowledge/", {}).status_code == 403
    acked = operator.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge/",
        {"note": "on it"},
        content_type="application/json",
    )
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "operator@example.com"
    again = operator.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge/", {}, content_type="application/json"
    )
    assert again.status_code == 409 and again["Content-Type"] == "application/problem+json"
    assert Alert.objects.get().ack_note == "on it"


def test_the_api_creates_and_ends_silences(clients_by_role):
    operator = clients_by_role["operator"]
    created = operator.post(
        "/api/v1/silences/",
        {
            "matchers": {"alertname": "dlq-not-empty"},
            "reason": "maintenance",
            "duration_minutes": 30,
        },
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["state"] == "active"
    bad = operator.post(
        "/api/v1/silences/",
        {"matchers": {}, "reason": "x", "duration_minutes": 30},
        content_type="application/json",
    )
    assert bad.status_code == 400
    pk = created.json()["id"]
    ended = operator.post(f"/api/v1/silences/{pk}/expire/")
    assert ended.status_code == 200 and ended.json()["state"] == "expired"


def test_metrics_answers_a_bearer_of_the_token_in_prometheus_format(client, settings):
    settings.METRICS_TOKEN = "s3cret"
    make_alert()
    series.write([(series.console_key("poll_duration_seconds"), timezone.now(), 0.25)])
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'opsconsole_alerts{state="firing"} 1.0' in body
    assert "opsconsole_metric_poll_duration_seconds 0.25" in body
