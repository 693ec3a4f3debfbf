"""The Content-Security-Policy header forbids inline code, and htmx is configured to match."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.django_db


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


@pytest.mark.parametrize("path", ["/auth/login/", "/audit/", "/"])
def test_it_sends_a_policy_without_unsafe_inline_or_eval(admin_client_, path):
    response = admin_client_.get(path, follow=True)
    policy = _policy(response)

    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]


def test_it_sends_the_other_protective_headers(client):
    response = client.get("/auth/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_configures_htmx_to_match_the_policy(admin_client_):
    page = admin_client_.get("/audit/").content.decode()
    meta = re.search(r'<meta name="htmx-config" content=\'([^\']+)\'>', page)
    assert meta, "htmx is configured in a meta tag of the base layout"
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False
    assert config["allowScriptTags"] is False
    assert config["selfRequestsOnly"] is True
    assert config["historyCacheSize"] == 0
    assert config["includeIndicatorStyles"] is False  # htmx would inject an inline <style>


@pytest.mark.parametrize("path", ["/auth/login/", "/audit/", "/auth/tokens/"])
def test_it_has_no_inline_scripts_styles_or_handlers_on_its_pages(admin_client_, client, path):
    page = (client if path == "/auth/login/" else admin_client_).get(path).content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script>"
    assert "<style" not in page
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page), "inline event handler"
    assert "hx-on" not in page


def test_it_keeps_every_template_free_of_inline_code():
    """Every template, not only the pages above: the policy would silently break them."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    offences = []
    for template in sorted(root.rglob("*.html")):
        text = template.read_text()
        for name, pattern in (
            ("inline <script>", r"<script(?![^>]*\bsrc=)[^>]*>"),
            ("<style> block", r"<style\b"),
            ("style attribute", r"\sstyle\s*="),
            ("event handler attribute", r"\son[a-z]+\s*="),
            ("hx-on attribute", r"\bhx-on"),
            ("javascript: URL", r"javascript:"),
        ):
            if re.search(pattern, text, re.IGNORECASE):
                offences.append(f"{template.relative_to(root)}: {name}")
    assert offences == []
