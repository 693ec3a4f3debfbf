"""Task tokens at rest."""

from __future__ import annotations

import pytest

from approvals.crypto import TokenDecryptError, decrypt_token, encrypt_token, token_dedup_key


def test_it_stores_a_token_unreadable_and_gets_it_back(settings):
    settings.FIELD_ENCRYPTION_KEY = "key-one"
    token = "AAAAKgAAAAIAAAAAAAAAAf" * 20

    stored = encrypt_token(token)

    assert token not in stored
    assert encrypt_token(token) != stored  # a fresh IV each time
    assert decrypt_token(stored) == token


def test_it_says_so_when_the_encryption_key_changed(settings):
    settings.FIELD_ENCRYPTION_KEY = "key-one"
    stored = encrypt_token("tok")
    settings.FIELD_ENCRYPTION_KEY = "key-two"

    with pytest.raises(TokenDecryptError, match="FIELD_ENCRYPTION_KEY"):
        decrypt_token(stored)


def test_it_fingerprints_the_same_token_the_same_way():
    assert token_dedup_key("a") == token_dedup_key("a") != token_dedup_key("b")
    assert len(token_dedup_key("a")) == 64
