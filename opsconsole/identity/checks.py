"""Deployment checks (`manage.py check --deploy`): no demo identity settings in production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

DEMO_CLIENT_SECRET = "opsconsole-demo-secret"  # noqa: S105 - the demo's well-known value


@register(Tags.security, deploy=True)
def identity_deploy_checks(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    problems = []
    if settings.OIDC_RP_CLIENT_SECRET == DEMO_CLIENT_SECRET:
        problems.append(
            Warning(
                "OIDC_RP_CLIENT_SECRET is the demo's public value.",
                hint="Set OIDC_RP_CLIENT_SECRET to the secret your identity provider issued.",
                id="identity.W001",
            )
        )
    if not settings.OIDC_OP_ISSUER.startswith("https://"):
        problems.append(
            Warning(
                f"OIDC_OP_ISSUER {settings.OIDC_OP_ISSUER!r} is not an https:// URL.",
                hint="Point OIDC_OP_ISSUER (and the OIDC_OP_* endpoints) at your provider.",
                id="identity.W002",
            )
        )
    if settings.OIDC_DEMO_USERS:
        problems.append(
            Warning(
                "OPSCONSOLE_OIDC_DEMO_USERS is on: the sign-in page lists demo accounts.",
                id="identity.W003",
            )
        )
    if settings.LOCAL_KEYS:
        problems.append(
            Warning(
                "OPSCONSOLE_LOCAL_KEYS is on: the signing and encryption keys are generated "
                "per host, so hosts cannot read each other's sessions or task tokens.",
                hint="Set OPSCONSOLE_SECRET_KEY and OPSCONSOLE_FIELD_ENCRYPTION_KEYS, the "
                "same on every web and worker host, and turn OPSCONSOLE_LOCAL_KEYS off.",
                id="identity.W005",
            )
        )
    if not settings.OIDC_VERIFY_SSL:
        problems.append(
            Warning(
                "OIDC_VERIFY_SSL is off: the provider's certificate is not checked.",
                id="identity.W004",
            )
        )
    return problems
