"""`manage.py check --deploy` passes with production settings."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

from opsconsole.settings import child_env

ROOT = Path(__file__).resolve().parents[2]


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    production = {
        "DJANGO_SETTINGS_MODULE": "opsconsole.settings",
        "OPSCONSOLE_DEBUG": "0",
        "OPSCONSOLE_SECURE": "1",
        "OPSCONSOLE_SECRET_KEY": secrets.token_urlsafe(64),
        "OPSCONSOLE_FIELD_ENCRYPTION_KEYS": secrets.token_urlsafe(64),
        "OPSCONSOLE_LOCAL_KEYS": "0",
        "OPSCONSOLE_ALLOWED_HOSTS": "console.example.com",
        "OPSCONSOLE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "OIDC_OP_ISSUER": "https://login.example.com/realms/ops",
        "OIDC_RP_CLIENT_ID": "opsconsole",
        "OIDC_RP_CLIENT_SECRET": secrets.token_urlsafe(32),
        "OPSCONSOLE_OIDC_DEMO_USERS": "0",
    }
    return child_env(**{**production, **overrides})


def _check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_it_passes_the_deployment_checklist_with_production_settings(tmp_path):
    result = _check(_production_env(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_fails_the_checklist_with_the_demo_identity_provider(tmp_path):
    result = _check(
        _production_env(
            tmp_path,
            OIDC_OP_ISSUER="http://127.0.0.1:9400",
            OIDC_RP_CLIENT_SECRET="opsconsole-demo-secret",
        )
    )
    assert result.returncode != 0
    assert "identity.W001" in result.stderr and "identity.W002" in result.stderr


def test_it_fails_the_checklist_when_debugging_in_production(tmp_path):
    result = _check(_production_env(tmp_path, OPSCONSOLE_DEBUG="1", OPSCONSOLE_SECURE="0"))
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG on


def test_it_fails_the_checklist_with_keys_kept_on_one_host(tmp_path):
    # Each host would make its own keys: a token encrypted by a worker could not be
    # decrypted by a web host.
    result = _check(_production_env(tmp_path, OPSCONSOLE_LOCAL_KEYS="1"))
    assert result.returncode != 0
    assert "identity.W005" in result.stderr and "OPSCONSOLE_LOCAL_KEYS" in result.stderr
