"""Times as a person reads them: in UTC or the zone they chose, always saying which, and
"synced just now" rather than "0 minutes ago"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from sagas.models import SagaStatus, SyncState

from .factories import make_saga

pytestmark = pytest.mark.django_db

STARTED = datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC)


def test_it_labels_every_timestamp_in_utc_by_default(viewer_client):
    SyncState.objects.create(kind="orders", last_success_at=timezone.now())
    make_saga("orders", "8843", SagaStatus.SUCCEEDED, started=STARTED)
    html = viewer_client.get("/sagas/orders/8843/").content.decode()
    assert "2026-07-01 10:00:00 UTC" in html
    assert "Times in UTC" in html
    listed = viewer_client.get("/sagas/orders/").content.decode()
    assert "From (UTC)" in listed and "Synced just now" in listed


def test_it_shows_times_in_the_zone_a_person_chose_and_says_which(viewer_client):
    SyncState.objects.create(
        kind="orders", last_success_at=timezone.now() - timedelta(minutes=3, seconds=5)
    )
    make_saga("orders", "8843", SagaStatus.SUCCEEDED, started=STARTED)
    chosen = viewer_client.post(
        "/sagas/time-zone/", {"tz": "other", "zone": "Europe/Berlin", "next": "/sagas/orders/"}
    )
    assert chosen.status_code == 302 and chosen["Location"] == "/sagas/orders/"
    html = viewer_client.get("/sagas/orders/8843/").content.decode()
    assert "2026-07-01 12:00:00 CEST" in html
    assert "Times in Europe/Berlin" in html
    listed = viewer_client.get("/sagas/orders/").content.decode()
    assert "From (Europe/Berlin)" in listed
    assert "Synced 3 minutes ago" in listed
    # Back to UTC.
    viewer_client.post("/sagas/time-zone/", {"tz": "UTC"})
    assert "2026-07-01 10:00:00 UTC" in viewer_client.get("/sagas/orders/8843/").content.decode()


def test_it_reads_a_date_picker_in_the_chosen_zone(viewer_client):
    SyncState.objects.create(kind="orders", last_success_at=timezone.now())
    make_saga("orders", "early", SagaStatus.SUCCEEDED, started=STARTED - timedelta(minutes=90))
    make_saga("orders", "late", SagaStatus.SUCCEEDED, started=STARTED + timedelta(minutes=30))
    viewer_client.post("/sagas/time-zone/", {"tz": "other", "zone": "Europe/Berlin"})
    # 11:00 in Berlin is 09:00 UTC: the early one (08:30 UTC) is before it, the late one after.
    response = viewer_client.get(
        "/sagas/orders/", {"since": "2026-07-01T11:00", "until": "2026-07-01T13:00"}
    )
    keys = [r["saga"].business_key for r in response.context["rows"]]
    assert keys == ["late"]
