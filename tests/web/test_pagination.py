"""Keyset pages: newest first, stable while rows arrive, never OFFSET, bad cursors ignored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from opsconsole.audit.log import Actor, record
from opsconsole.audit.models import AuditEvent
from opsconsole.web.pagination import each_row, keep_params, keyset_page
from sagas.models import Saga
from tests.sagas.factories import make_saga

pytestmark = pytest.mark.django_db


def _sagas(n: int, *, same_start: int = 0) -> list[str]:
    """n sagas, newest first by key order; the last `same_start` share one start time."""
    now = timezone.now()
    for i in range(n):
        minutes = min(i, n - same_start) if same_start else i
        make_saga("orders", f"{i:03d}", started=now - timedelta(minutes=minutes + 1))
    return [s.business_key for s in Saga.objects.order_by("-started_at", "-id")]


def _keys(page) -> list[str]:
    return [s.business_key for s in page.rows]


def test_it_walks_forward_and_back_on_a_timestamp_key_even_through_ties():
    expected = _sagas(11, same_start=5)
    qs = Saga.objects.all()
    seen, cursor, pages = [], None, []
    while True:
        page = keyset_page(qs, key="started_at", after=cursor, size=3)
        pages.append(page)
        seen += _keys(page)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages[0].prev_cursor is None and pages[1].prev_cursor is not None
    back = keyset_page(qs, key="started_at", before=pages[2].prev_cursor, size=3)
    assert _keys(back) == _keys(pages[1])


def test_it_pages_oldest_first_when_asked():
    expected = list(reversed(_sagas(5)))
    first = keyset_page(Saga.objects.all(), key="started_at", newest_first=False, size=3)
    second = keyset_page(
        Saga.objects.all(), key="started_at", newest_first=False, after=first.next_cursor
    )
    assert _keys(first) + _keys(second) == expected


def test_it_shows_the_first_page_for_a_cursor_it_cannot_read():
    expected = _sagas(3)
    for bad in ("%%%", "bm90LWEtY3Vyc29y", "MjAyNi0wMS0wMVQwMDowMHwx"):
        page = keyset_page(Saga.objects.all(), key="started_at", after=bad)
        assert page.bad_cursor and _keys(page) == expected
    assert keyset_page(AuditEvent.objects.all(), after="abc").bad_cursor


def test_it_pages_by_id_alone_with_the_id_as_cursor():
    actor = Actor(type="user", id="ops@example.com", sub="ops", role="admin")
    ids = [record(actor, "saga.redrive", result="succeeded").id for _ in range(5)]
    first = keyset_page(AuditEvent.objects.all(), size=2)
    assert [e.id for e in first.rows] == ids[::-1][:2]
    assert first.next_cursor == str(ids[3])
    with CaptureQueriesContext(connection) as ctx:
        walked = [e.id for e in each_row(AuditEvent.objects.all(), chunk=2)]
    assert walked == ids[::-1]
    assert len(ctx.captured_queries) == 3
    assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)


def test_it_keeps_every_other_filter_in_page_links():
    params = QueryDict("who=anna&before=7&action=saga.")
    assert keep_params(params, before="3") == "who=anna&action=saga.&before=3"
    assert keep_params(params, before=None) == "who=anna&action=saga."
