"""Task tokens at rest."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from approvals.crypto import TokenDecryptError, decrypt_token, encrypt_token, token_dedup_key


def test_it_stores_a_token_unreadable_and_gets_it_back(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["key-one"]
    token = "AAAAKgAAAAIAAAAAAAAAAf" * 20

    stored = encrypt_token(token)

    assert token not in stored
    assert encrypt_token(token) != stored  # a fresh IV each time
    assert decrypt_token(stored) == token


def test_it_says_so_when_no_configured_key_encrypted_the_token(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["key-one"]
    stored = encrypt_token("tok")
    settings.FIELD_ENCRYPTION_KEYS = ["key-two"]

    with pytest.raises(TokenDecryptError, match="FIELD_ENCRYPTION_KEYS"):
        decrypt_token(stored)


def test_it_still_decrypts_an_old_token_after_the_key_rotated(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["key-one"]
    old = encrypt_token("waiting-since-yesterday")
    # Rotation: the new key goes first and encrypts; the old one stays to decrypt.
    settings.FIELD_ENCRYPTION_KEYS = ["key-two", "key-one"]
    new = encrypt_token("arrived-today")

    assert decrypt_token(old) == "waiting-since-yesterday"
    assert decrypt_token(new) == "arrived-today"
    settings.FIELD_ENCRYPTION_KEYS = ["key-two"]
    assert decrypt_token(new) == "arrived-today"  # encrypted with the new key only


def test_it_fingerprints_the_same_token_the_same_way():
    assert token_dedup_key("a") == token_dedup_key("a") != token_dedup_key("b")
    assert len(token_dedup_key("a")) == 64


@pytest.mark.parametrize("missing", ["OPSCONSOLE_SECRET_KEY", "OPSCONSOLE_FIELD_ENCRYPTION_KEYS"])
def test_it_refuses_to_start_without_shared_keys_when_not_debugging(missing, tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPSCONSOLE_", "DJANGO_"))
    }
    env.update(
        OPSCONSOLE_DEBUG="0",
        OPSCONSOLE_VAR_DIR=str(tmp_path),
        OPSCONSOLE_SECRET_KEY="s" * 50,
        OPSCONSOLE_FIELD_ENCRYPTION_KEYS="k" * 50,
    )
    del env[missing]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert f"{missing} is required" in result.stderr
    assert "Traceback" not in result.stderr or "ImproperlyConfigured" in result.stderr
    assert not (tmp_path / "secret_key").exists()
