"""The REST API (v1): each app contributes its routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("sagas.api_urls")),
    path("", include("approvals.api_urls")),
    path("", include("opsconsole.audit.api_urls")),
]
