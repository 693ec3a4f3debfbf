"""DRF authentication by `Authorization: Bearer <token>` and per-token rate limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken, hash_token


class ServiceAccount:
    """The request.user of a token-authenticated API call."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, token: ApiToken) -> None:
        self.token = token
        self.pk = None
        self.username = f"token:{token.name}"
        self.email = ""

    def __str__(self) -> str:
        return self.username


class BearerTokenAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Any) -> tuple[ServiceAccount, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Bearer <token>'.")
        raw = header[1].decode("latin-1")
        token = ApiToken.objects.filter(token_hash=hash_token(raw)).first()
        if token is None or not token.is_usable:
            raise exceptions.AuthenticationFailed("Token is unknown, expired or revoked.")
        now = timezone.now()
        # Last-used is informational: write it at most once a minute per token.
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return ServiceAccount(token), token

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="opsconsole"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """How the schema describes BearerTokenAuthentication (registered on import, which DRF
    does whenever it resolves the authentication classes, before any schema is built)."""

    target_class = BearerTokenAuthentication
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A service-account token (`opc_...`) issued by an admin on the API tokens "
                "page or with `manage.py create_api_token`; it carries one role."
            ),
        }


class TokenRateThrottle(SimpleRateThrottle):
    """Per-token limits (the token's own rate, else the default); staff are not throttled."""

    scope = "token"

    def allow_request(self, request: Any, view: Any) -> bool:
        token = getattr(request, "auth", None)
        if not isinstance(token, ApiToken):
            return True
        if token.rate_limit:
            self.rate = token.rate_limit
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        token = getattr(request, "auth", None)
        if not isinstance(token, ApiToken):
            return None
        return f"throttle_token_{token.pk}"
