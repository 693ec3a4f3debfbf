"""What every view knows about its request: htmx details and safe `next` targets."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from opsconsole.web.http import htmx_target, local_url


def _request(**headers):
    request = RequestFactory().get("/", headers=headers)
    request.htmx = HtmxDetails(request)
    return request


def test_it_reads_the_htmx_target_of_htmx_requests_only():
    assert htmx_target(_request(**{"HX-Request": "true", "HX-Target": "saga-rows"})) == "saga-rows"
    assert htmx_target(_request(**{"HX-Target": "saga-rows"})) is None
    assert htmx_target(_request()) is None


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("/sagas/orders/?status=waiting", True),
        ("", False),
        ("https://evil.example/", False),
        ("//evil.example/", False),
        ("javascript:alert(1)", False),
    ],
)
def test_it_keeps_next_links_on_this_site(value, safe):
    assert local_url(_request(), value) == (value if safe else "")
