"""Task tokens at rest: Fernet-encrypted with keys derived from FIELD_ENCRYPTION_KEYS (the
first encrypts, every one decrypts, so keys rotate without losing a waiting token).

A task token is a bearer credential for one waiting step: whoever holds it can resume or
fail the saga. It is stored encrypted, looked up by a one-way hash (the dedup key), and
decrypted only in the instant before the AWS call.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Domain separation: the same settings key may derive other keys for other purposes.
_INFO = b"opsconsole approvals task-token v1"
_SALT = b"opsconsole.approvals"


class TokenDecryptError(Exception):
    """The stored token cannot be decrypted (the encryption key changed)."""


@lru_cache(maxsize=16)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_SALT, info=_INFO).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _keys() -> MultiFernet:
    return MultiFernet([_fernet(secret) for secret in settings.FIELD_ENCRYPTION_KEYS])


def encrypt_token(token: str) -> str:
    """The token encrypted for storage with the first key (authenticated; a fresh IV each
    time)."""
    return _keys().encrypt(token.encode()).decode("ascii")


def decrypt_token(stored: str) -> str:
    """The clear token, with whichever configured key encrypted it; raises TokenDecryptError
    when none does."""
    try:
        return _keys().decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise TokenDecryptError(
            "the task token cannot be decrypted: none of FIELD_ENCRYPTION_KEYS encrypted it"
        ) from exc


def token_dedup_key(token: str) -> str:
    """A one-way fingerprint of the token: the same message delivered twice has the same key."""
    return hashlib.sha256(token.encode()).hexdigest()
