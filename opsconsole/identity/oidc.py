"""OIDC sign-in: mozilla-django-oidc, with roles taken from the provider's group claim."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from .models import StaffProfile
from .roles import ADMIN, APPROVER, OPERATOR, VIEWER

_PRECEDENCE = [ADMIN, OPERATOR, APPROVER, VIEWER]


def role_map() -> dict[str, str]:
    """The configured group -> role mapping."""
    mapping: dict[str, str] = {}
    for pair in settings.OIDC_ROLE_MAP.split(","):
        if "=" in pair:
            group, role = pair.split("=", 1)
            mapping[group.strip()] = role.strip()
    return mapping


def role_for_groups(groups: list[str]) -> str:
    """The strongest role any of the groups maps to; '' when none does."""
    mapping = role_map()
    held = {mapping[g] for g in groups if g in mapping}
    return next((r for r in _PRECEDENCE if r in held), "")


class ConsoleOIDCBackend(OIDCAuthenticationBackend):
    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        sub = claims.get("sub")
        if not sub:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(staff_profile__oidc_sub=sub)

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel.objects.create_user(
            username=str(claims.get("sub"))[:150], email=claims.get("email", "")
        )
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        groups = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        role = role_for_groups([str(g) for g in groups])
        user.email = claims.get("email", user.email)
        user.first_name = str(claims.get("given_name", claims.get("name", "")))[:150]
        user.save()
        profile, _ = StaffProfile.objects.get_or_create(user=user)
        if profile.role != role:
            profile.role_updated_at = timezone.now()
        profile.role = role
        profile.groups = list(groups)
        profile.oidc_sub = str(claims.get("sub"))
        profile.oidc_issuer = settings.OIDC_OP_ISSUER
        profile.save()
        return user
