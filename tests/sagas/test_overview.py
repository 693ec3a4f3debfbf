"""The home page: counts per kind and status, and the freshness of each kind's sync."""

from __future__ import annotations

import pytest
from django.utils import timezone

from sagas.models import SagaStatus, SyncState

from .factories import make_saga

pytestmark = pytest.mark.django_db


def test_it_counts_each_kind_by_status_and_says_when_a_kind_was_never_synced(viewer_client):
    make_saga("orders", "1", SagaStatus.WAITING)
    make_saga("orders", "2", SagaStatus.COMPENSATED)
    make_saga("closures", "77", SagaStatus.SUCCEEDED)
    SyncState.objects.create(kind="orders", last_success_at=timezone.now())
    response = viewer_client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    kinds = {k["kind"].key: k for k in response.context["kinds"]}
    assert kinds["orders"]["total"] == 2 and kinds["closures"]["total"] == 1
    assert {s["value"]: s["n"] for s in kinds["orders"]["statuses"]}["waiting"] == 1
    assert 'data-sync-banner="closures"' in html and "Not synced from AWS yet" in html
    assert 'data-sync-banner="orders"' not in html
