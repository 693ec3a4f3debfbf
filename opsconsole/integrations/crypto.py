"""Webhook secrets at rest: Fernet with a key derived from FIELD_ENCRYPTION_KEYS (the first
encrypts, each decrypts), so a database dump does not give away the signing secrets."""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"opsconsole integrations webhook-secret v1"
_SALT = b"opsconsole.integrations"


@lru_cache(maxsize=16)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _keys() -> MultiFernet:
    return MultiFernet([_fernet(secret) for secret in settings.FIELD_ENCRYPTION_KEYS])


def encrypt(value: str) -> str:
    return _keys().encrypt(value.encode()).decode("ascii")


def decrypt(stored: str) -> str:
    return _keys().decrypt(stored.encode("ascii")).decode()
