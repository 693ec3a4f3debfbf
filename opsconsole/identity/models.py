"""Staff profiles (role from the provider's groups) and service-account API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from .roles import ROLES

ROLE_CHOICES = [(r, r) for r in ROLES]
TOKEN_PREFIX = "opc_"  # noqa: S105 - a visible prefix, not a secret


class StaffProfile(models.Model):
    """What the console knows of a staff member beyond Django's user."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    # Empty when the provider's groups map to no role: such a user has no access.
    role = models.CharField(max_length=16, choices=ROLE_CHOICES, blank=True, default="")
    oidc_sub = models.CharField(max_length=255, blank=True, default="", db_index=True)
    oidc_issuer = models.CharField(max_length=255, blank=True, default="")
    groups = models.JSONField(default=list, blank=True)
    role_updated_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.role or 'no role'})"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A service account's bearer token; only its hash is stored."""

    name = models.CharField(max_length=100)
    role = models.CharField(max_length=16, choices=ROLE_CHOICES)
    prefix = models.CharField(max_length=16, db_index=True)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=255, blank=True, default="")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    rate_limit = models.CharField(max_length=32, blank=True, default="")  # e.g. "120/minute"

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()

    @classmethod
    def issue(
        cls, name: str, role: str, *, expires_days: int | None = None, created_by: str = ""
    ) -> tuple[ApiToken, str]:
        """Create a token; return it and the raw secret, which is never stored or shown again."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name,
            role=role,
            prefix=raw[: len(TOKEN_PREFIX) + 6],
            token_hash=hash_token(raw),
            created_by=created_by,
            expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
        )
        return token, raw
