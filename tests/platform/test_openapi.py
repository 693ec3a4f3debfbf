"""The API's contract: the committed OpenAPI schema is what the code generates, and the
schema and its docs are served to viewers under the strict CSP, from the sidecar (no CDN)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "api" / "openapi.yaml"
REGENERATE = (
    "api/openapi.yaml is not what the code generates. Regenerate it with `make schema` "
    "(.venv/bin/python manage.py spectacular --file api/openapi.yaml --validate "
    "--fail-on-warn), review the diff, and commit it."
)


def _generate() -> tuple[dict, bytes, list[str]]:
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiYamlRenderer

    GENERATOR_STATS.reset()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = sorted([*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache])
    return schema, OpenApiYamlRenderer().render(schema, renderer_context={}), problems


@pytest.fixture(scope="module")
def generated() -> tuple[dict, bytes, list[str]]:
    return _generate()


def test_it_keeps_the_committed_schema_in_step_with_the_code(generated):
    _, text, _ = generated
    assert COMMITTED.exists(), REGENERATE
    assert text.decode() == COMMITTED.read_text(), REGENERATE


def test_it_generates_a_valid_openapi_3_1_schema_without_warnings(generated):
    from drf_spectacular.validation import validate_schema

    schema, _, problems = generated
    assert problems == [], "fix these before regenerating api/openapi.yaml"
    validate_schema(schema)
    assert schema["openapi"].startswith("3.1")


def test_it_documents_the_bearer_token_and_problem_answers_of_every_operation(generated):
    schema, _, _ = generated
    assert schema["components"]["securitySchemes"]["bearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schema["components"]["securitySchemes"]["bearerToken"]["description"],
    }
    operations = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    assert len(operations) >= 7  # every operation, however many there are, is checked below
    for path, method, operation in operations:
        assert {"bearerToken": []} in operation["security"], (path, method)
        for status in ("401", "403", "429"):
            content = operation["responses"][status]["content"]
            assert list(content) == ["application/problem+json"], (path, method, status)


def test_it_documents_the_approval_requests_of_a_saga(generated):
    schema, _, _ = generated
    detail = schema["components"]["schemas"]["SagaDetail"]["properties"]
    assert detail["approval_requests"]["items"] == {"$ref": "#/components/schemas/SagaApproval"}
    assert set(detail["links"]["allOf"][0].values()) == {"#/components/schemas/SagaLinks"}


def test_it_serves_the_schema_to_viewers(clients_by_role):
    response = clients_by_role["viewer"].get("/api/v1/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"] == "3.1.0"
    as_json = clients_by_role["viewer"].get("/api/v1/schema/?format=json")
    assert as_json.json()["info"]["title"] == "opsconsole API"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"])
def test_it_answers_anonymous_callers_of_the_schema_and_docs_with_a_problem(path):
    response = Client().get(path, headers={"Accept": "text/html,*/*;q=0.8"})  # a browser
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"


def _policy(response) -> dict[str, list[str]]:
    return {
        words[0]: words[1:]
        for part in response["Content-Security-Policy"].split(";")
        if (words := part.split())
    }


def _assets(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


def _assert_served_locally(assets: list[str]) -> None:
    for url in assets:
        assert not re.match(r"^(https?:)?//", url), f"{url} would load from another origin"
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/").split("?")[0]), url


def test_it_serves_swagger_ui_without_inline_code_under_the_strict_policy(clients_by_role):
    viewer = clients_by_role["viewer"]
    response = viewer.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert "unsafe" not in response["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script>"
    assert "<style" not in page and not re.search(r"\sstyle=", page)
    assets = _assets(page)
    _assert_served_locally(assets)
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in a for a in assets)

    [init] = [a for a in assets if "script" in a and a.startswith("/api/v1/docs/")]
    script = viewer.get(init.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    assert "/api/v1/schema/" in script.content.decode()


def test_it_serves_redoc_without_inline_code_styles_only_by_nonce(clients_by_role):
    response = clients_by_role["viewer"].get("/api/v1/redoc/")
    assert response.status_code == 200
    page = response.content.decode()
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    [nonce] = re.findall(r'nonce="([^"]+)"', page)
    assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert "unsafe" not in response["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script>"
    assert "<style" not in page and "fonts.googleapis" not in page
    assert 'data-spec-url="/api/v1/schema/"' in page
    assets = _assets(page)
    _assert_served_locally(assets)
    assert any("drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js" in a for a in assets)
    assert any(a.endswith("api/redoc-init.js") for a in assets)
