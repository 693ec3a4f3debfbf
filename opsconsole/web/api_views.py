"""The API's own endpoints: the schema and its docs (Swagger UI, Redoc), served from the
sidecar package (no CDN) under the strict CSP (no inline script or style on either page),
and the problem answer for a URL the API does not have.

Separate from `openapi` because drf-spectacular's views import DEFAULT_SCHEMA_CLASS."""

from __future__ import annotations

from typing import Any

from csp.constants import NONCE
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .problems import PROBLEM_CONTENT_TYPE


class _ProblemsAsJson:
    """The schema and docs views render YAML or HTML; their errors are problem+json like
    every other endpoint's, so the error response is rendered as JSON whatever was asked."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if getattr(response, "exception", False):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = PROBLEM_CONTENT_TYPE
        return super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]


class SchemaView(_ProblemsAsJson, SpectacularAPIView):
    """The OpenAPI 3.1 schema (YAML, or JSON with `?format=json` / by Accept)."""


class SwaggerView(_ProblemsAsJson, SpectacularSwaggerSplitView):
    """Swagger UI. The page has no inline code: its init script is this same URL with
    `?script`, so `script-src 'self'` is enough."""

    template_name = "api/swagger_ui.html"
    url_name = "api-schema"


class RedocView(_ProblemsAsJson, SpectacularRedocView):
    """Redoc. Its init script is a static file; Redoc injects its styles at run time, so this
    page (only) allows `<style>` elements carrying the request's nonce, which Redoc is given."""

    template_name = "api/redoc.html"
    url_name = "api-schema"

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        response._csp_update = {"style-src": [NONCE]}
        return response


class NoSuchEndpoint(APIView):
    """Any other URL under the API: a 404 problem like every API error, not Django's page."""

    permission_classes = [AllowAny]

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        raise NotFound("There is no such endpoint in this API (see /api/v1/docs/).")

    post = put = patch = delete = get
