from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from opsconsole.audit.models import AuditEvent
from opsconsole.identity.models import ApiToken, hash_token

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def test_it_prints_a_new_token_once_and_stores_its_hash():
    raw, note = run("create_api_token", "servicenow", "--role", "operator", "--expires", "30")

    token = ApiToken.objects.get(name="servicenow")
    assert raw.startswith("opc_") and token.token_hash == hash_token(raw)
    assert token.role == "operator" and token.expires_at is not None
    assert "shown this once" in note and raw not in note
    event = AuditEvent.objects.get(action="api_token.create", result="succeeded")
    assert event.actor == "manage.py create_api_token"


def test_it_explains_a_bad_role_or_expiry():
    with pytest.raises(CommandError):
        run("create_api_token", "x", "--role", "root")
    with pytest.raises(CommandError, match="between 1 and"):
        run("create_api_token", "x", "--role", "viewer", "--expires", "0")


def test_it_revokes_a_token_by_name():
    run("create_api_token", "svc", "--role", "viewer")
    out, _ = run("revoke_api_token", "svc")
    assert "Revoked 1" in out
    assert not ApiToken.objects.usable().exists()
    with pytest.raises(CommandError, match="No usable token"):
        run("revoke_api_token", "svc")


def test_it_refuses_a_break_glass_account_over_an_oidc_user(users):
    with pytest.raises(CommandError, match="signs in through OIDC"):
        run("create_break_glass_user", "admin", "--role", "admin")
