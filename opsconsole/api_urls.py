"""The REST API (v1): each app contributes its routes; the schema and its docs are here."""

from django.urls import include, path, re_path

from opsconsole.web.api_views import NoSuchEndpoint, RedocView, SchemaView, SwaggerView

urlpatterns = [
    path("", include("sagas.api_urls")),
    path("", include("approvals.api_urls")),
    path("", include("opsconsole.audit.api_urls")),
    path("", include("opsconsole.integrations.api_urls")),
    path("", include("opsconsole.recovery.api_urls")),
    path("", include("opsconsole.monitoring.api_urls")),
    path("schema/", SchemaView.as_view(), name="api-schema"),
    path("docs/", SwaggerView.as_view(), name="api-docs"),
    path("redoc/", RedocView.as_view(), name="api-redoc"),
    # Last, and only for paths ending in a slash, so APPEND_SLASH still redirects
    # /api/v1/sagas to /api/v1/sagas/ before this answers 404.
    # [\s\S]: a path with an encoded line break is still an API path (answered as problem+json).
    re_path(r"^(?P<path>[\s\S]*/)$", NoSuchEndpoint.as_view(), name="api-not-found"),
]
