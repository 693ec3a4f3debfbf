"""State changes of the identity app: API tokens for service accounts. Each is audited."""

from __future__ import annotations

import re

from django.utils import timezone

from opsconsole.audit.log import Actor, attempt

from .models import ApiToken
from .roles import ROLES

RATE_PATTERN = re.compile(r"^\d{1,6}/(s|sec|second|m|min|minute|h|hour|d|day)$")
MAX_EXPIRY_DAYS = 3650


class TokenError(ValueError):
    """A token request a person can fix (the message says how)."""


def validate_token_request(name: str, role: str, expires_days: int | None, rate_limit: str) -> None:
    if not name.strip():
        raise TokenError("Give the token a name (the service account it is for).")
    if len(name) > 100:
        raise TokenError("The name is longer than 100 characters.")
    if role not in ROLES:
        raise TokenError(f"Role must be one of {', '.join(ROLES)}.")
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise TokenError(f"Expiry must be between 1 and {MAX_EXPIRY_DAYS} days.")
    if rate_limit and not RATE_PATTERN.match(rate_limit):
        raise TokenError("Rate limit looks like 120/minute (per second, minute, hour or day).")
    if ApiToken.objects.usable().filter(name=name.strip()).exists():
        raise TokenError(f"A usable token named {name.strip()!r} exists; revoke it first.")


def issue_api_token(
    actor: Actor,
    name: str,
    role: str,
    *,
    expires_days: int | None = None,
    rate_limit: str = "",
) -> tuple[ApiToken, str]:
    """Create a service-account token; the raw secret is returned once and never stored."""
    validate_token_request(name, role, expires_days, rate_limit)
    with attempt(
        actor,
        "api_token.create",
        target_type="api_token",
        target_id=name.strip(),
        details={"role": role, "expires_days": expires_days, "rate_limit": rate_limit or None},
    ) as a:
        token, raw = ApiToken.issue(
            name.strip(), role, expires_days=expires_days, created_by=actor.id
        )
        if rate_limit:
            ApiToken.objects.filter(pk=token.pk).update(rate_limit=rate_limit)
            token.rate_limit = rate_limit
        a.succeeded(token_id=token.pk, prefix=token.prefix)
    return token, raw


def revoke_api_token(actor: Actor, token_id: int) -> ApiToken | None:
    """Revoke a token at once (idempotent); None when there is no such token."""
    token = ApiToken.objects.filter(pk=token_id).first()
    if token is None:
        return None
    with attempt(
        actor,
        "api_token.revoke",
        target_type="api_token",
        target_id=token.name,
        details={"token_id": token.pk, "prefix": token.prefix},
    ) as a:
        if token.revoked_at is not None:
            a.refused("already revoked")
            return token
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
    return token
