"""Task tokens at rest: Fernet-encrypted with a key derived from FIELD_ENCRYPTION_KEY.

A task token is a bearer credential for one waiting step: whoever holds it can resume or
fail the saga. It is stored encrypted, looked up by a one-way hash (the dedup key), and
decrypted only in the instant before the AWS call.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Domain separation: the same settings key may derive other keys for other purposes.
_INFO = b"opsconsole approvals task-token v1"
_SALT = b"opsconsole.approvals"


class TokenDecryptError(Exception):
    """The stored token cannot be decrypted (the encryption key changed)."""


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_token(token: str) -> str:
    """The token encrypted for storage (authenticated; a fresh IV each time)."""
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(token.encode()).decode("ascii")


def decrypt_token(stored: str) -> str:
    """The clear token; raises TokenDecryptError when the key no longer matches."""
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise TokenDecryptError(
            "the task token cannot be decrypted: FIELD_ENCRYPTION_KEY changed"
        ) from exc


def token_dedup_key(token: str) -> str:
    """A one-way fingerprint of the token: the same message delivered twice has the same key."""
    return hashlib.sha256(token.encode()).hexdigest()
