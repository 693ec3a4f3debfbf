"""Apps plug into the shared pages and the beat schedule from their AppConfig.ready(): the
navigation, the case page's panels, the overview's counters and the periodic jobs are what
they registered, and what a person sees per role is what it was before the registries."""

from __future__ import annotations

import importlib
import re

import pytest
from django.conf import settings

from opsconsole import plugins
from opsconsole.aws import dynamodb, stepfunctions
from opsconsole.aws.errors import AwsUnavailable
from opsconsole.schedule import beat_schedule
from sagas.models import SagaStatus
from tests.conftest import make_user, signed_in_client
from tests.sagas.factories import saga_from_history

pytestmark = pytest.mark.django_db

KINDS = ["Orders", "Closures"]
NAV_BY_ROLE = {
    None: KINDS,
    "viewer": [*KINDS, "Approvals", "Recovery", "Alerts"],
    "operator": [*KINDS, "Approvals", "Recovery", "Alerts"],
    "approver": [*KINDS, "Approvals", "Recovery", "Alerts"],
    "admin": [*KINDS, "Approvals", "Recovery", "Alerts", "Audit", "API tokens", "Integrations"],
}


def nav_labels(client) -> list[str]:
    html = client.get("/auth/tokens/").content.decode()
    nav = re.search(r'<nav class="nav" aria-label="Main">(.*?)</nav>', html, re.S)
    return re.findall(r">([^<]+)</a>", nav.group(1)) if nav else []


@pytest.mark.parametrize("role", list(NAV_BY_ROLE))
def test_it_shows_each_role_the_navigation_it_always_had(role):
    assert nav_labels(signed_in_client(make_user(role))) == NAV_BY_ROLE[role]


def test_it_shows_no_navigation_to_someone_signed_out(client):
    assert nav_labels(client) == []


def test_it_marks_the_current_section_in_the_navigation(viewer_client):
    html = viewer_client.get("/recovery/").content.decode()
    assert '<a href="/recovery/" aria-current="page">Recovery</a>' in html


@pytest.fixture
def case_page(viewer_client, monkeypatch):
    def unreachable(*args, **kwargs):
        raise AwsUnavailable("AWS endpoint unreachable")

    monkeypatch.setattr(stepfunctions, "get_history_after", unreachable)
    monkeypatch.setattr(dynamodb, "query_partition", unreachable)
    saga = saga_from_history("order_waiting_service", status=SagaStatus.WAITING)

    def get() -> str:
        return viewer_client.get(f"/sagas/orders/{saga.business_key}/").content.decode()

    get.saga = saga  # type: ignore[attr-defined]
    return get


def test_it_loads_the_approvals_panel_on_the_case_page_with_a_plain_link_fallback(case_page):
    html = case_page()
    url = f"/approvals/saga/{case_page.saga.pk}/panel/"
    assert f'<section id="approvals-panel" class="panel" hx-get="{url}"' in html
    assert f'<a href="{url}">Show the approval requests of this saga</a>' in html


def test_it_composes_the_case_page_from_whatever_panels_are_registered(case_page):
    plugins.register_panel(
        plugins.Panel(
            name="extra",
            title="Something else",
            url_name="approvals:saga_panel",
            link_text="Show something else",
            order=5,
        )
    )
    try:
        html = case_page()
    finally:
        plugins.unregister("extra")
    assert 'id="extra-panel"' in html and "Show something else" in html
    assert html.index('id="extra-panel"') < html.index('id="approvals-panel"')
    assert 'id="extra-panel"' not in case_page()


def test_it_hides_a_panel_from_a_role_that_may_not_see_it(case_page):
    plugins.register_panel(
        plugins.Panel(
            name="admins-only",
            title="Admins only",
            url_name="approvals:saga_panel",
            link_text="Admins only",
            role="admin",
        )
    )
    try:
        html = case_page()
    finally:
        plugins.unregister("admins-only")
    assert "admins-only-panel" not in html


def test_it_shows_registered_counters_on_the_overview(viewer_client):
    plugins.register_counter(
        plugins.Counter(
            name="pending",
            compute=lambda request: plugins.Count("pending things", 7, "/approvals/"),
        )
    )
    plugins.register_counter(
        plugins.Counter(name="secret", compute=lambda request: plugins.Count("x", 1), role="admin")
    )
    try:
        html = viewer_client.get("/").content.decode()
    finally:
        plugins.unregister("pending")
        plugins.unregister("secret")
    assert 'data-counter="pending"' in html and "<strong>7</strong>" in html
    assert 'data-counter="secret"' not in html
    assert 'data-counter="pending"' not in viewer_client.get("/").content.decode()


def test_it_schedules_every_features_periodic_jobs():
    # Each feature's jobs, with intervals from settings where they have one (other features'
    # jobs may be there too: that they run is the next test's business).
    schedule = beat_schedule(settings)
    assert (
        schedule
        | {
            "tend-jobs": {
                "task": "opsconsole.recovery.tasks.tend_jobs",
                "schedule": 10.0,
                "options": {"expires": 20},
            },
            "poll-metrics": {
                "task": "opsconsole.monitoring.tasks.poll_metrics",
                "schedule": settings.MONITORING_POLL_SECONDS,
                "options": {"expires": settings.MONITORING_POLL_SECONDS * 2},
            },
            "evaluate-alerts": {
                "task": "opsconsole.monitoring.tasks.evaluate_alerts",
                "schedule": settings.MONITORING_EVALUATE_SECONDS,
                "options": {"expires": settings.MONITORING_EVALUATE_SECONDS * 2},
            },
            "keep-samples": {
                "task": "opsconsole.monitoring.tasks.keep_samples",
                "schedule": 300.0,
                "options": {"expires": 600},
            },
        }
        == schedule
    )
    assert (
        schedule
        | {
            "sync-sagas": {
                "task": "sagas.tasks.sync_all_kinds",
                "schedule": settings.SYNC_INTERVAL_SECONDS,
                "options": {"expires": settings.SYNC_INTERVAL_SECONDS * 2},
            },
            "sagas-status-events": {
                "task": "sagas.tasks.consume_status_events",
                "schedule": settings.SYNC_EVENTS_INTERVAL,
                "options": {"expires": settings.SYNC_EVENTS_INTERVAL * 2},
            },
            "collect-approvals": {
                "task": "approvals.tasks.collect_approval_requests",
                "schedule": settings.APPROVALS_POLL_SECONDS,
                "options": {"expires": settings.APPROVALS_POLL_SECONDS * 2},
            },
            "poll-dlq-depths": {
                "task": "opsconsole.recovery.tasks.poll_dlq_depths",
                "schedule": 30.0,
                "options": {"expires": 60},
            },
            "sweep-approvals": {
                "task": "approvals.tasks.sweep_approval_requests",
                "schedule": 30.0,
                "options": {"expires": 60},
            },
        }
        == schedule
    )


def test_it_gives_celery_beat_the_registered_schedule():
    from opsconsole.celery import app

    app.finalize()
    assert set(app.conf.beat_schedule) == set(beat_schedule(settings))
    assert {
        "sync-sagas",
        "collect-approvals",
        "poll-dlq-depths",
        "tend-jobs",
        "evaluate-alerts",
    } <= set(app.conf.beat_schedule)
    for job in app.conf.beat_schedule.values():
        # Celery's autodiscovery imports each app's tasks module; the name must resolve there.
        importlib.import_module(job["task"].rsplit(".", 1)[0])
        assert job["task"] in app.tasks
