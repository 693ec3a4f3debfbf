"""The console's own error pages: in the layout, no stack trace, a request id to quote."""

from __future__ import annotations

import pytest
from django.urls import path

from opsconsole import urls as project_urls

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("SELECT secret FROM internals")  # what must never reach a page


urlpatterns = [path("boom", _boom), *project_urls.urlpatterns]
handler500 = project_urls.handler500


def test_it_answers_an_unknown_url_with_its_own_404_page(viewer_client, settings):
    settings.DEBUG = False
    response = viewer_client.get("/no/such/page", HTTP_X_REQUEST_ID="req-404-check")
    page = response.content.decode()
    assert response.status_code == 404
    assert "Not found" in page and "/no/such/page" in page
    assert "req-404-check" in page  # the id to quote
    assert "URLconf" not in page and "urlpatterns" not in page  # no debug listing
    assert 'rel="icon"' in page


def test_it_answers_a_crash_with_its_own_500_page_and_no_stack_trace(viewer_client, settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.platform.test_error_pages"
    viewer_client.raise_request_exception = False
    response = viewer_client.get("/boom", HTTP_X_REQUEST_ID="req-500-check")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page and "req-500-check" in page
    assert "SELECT secret" not in page and "Traceback" not in page


def test_it_answers_a_forbidden_page_in_the_layout(viewer_client):
    response = viewer_client.get("/audit/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Not allowed" in page and 'class="topbar"' in page
