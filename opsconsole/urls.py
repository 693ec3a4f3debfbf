"""URL routes. Every route must appear in tests/identity/test_permission_matrix.py."""

from django.urls import include, path

from opsconsole import views
from opsconsole.monitoring import views as monitoring_views
from sagas import overview

urlpatterns = [
    path("", overview.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    # Prometheus scrapes the console's own metrics with a bearer token (no session).
    path("metrics", monitoring_views.metrics, name="metrics"),
    path("auth/", include("opsconsole.identity.urls")),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("sagas/", include("sagas.urls")),
    path("approvals/", include("approvals.urls")),
    path("recovery/", include("opsconsole.recovery.urls")),
    path("alerts/", include("opsconsole.monitoring.urls")),
    path("audit/", include("opsconsole.audit.urls")),
    path("integrations/", include("opsconsole.integrations.urls")),
    path("api/v1/", include("opsconsole.api_urls")),
]

# The console's own error pages (templates/403.html and 404.html are found by name).
handler500 = "opsconsole.views.server_error"
