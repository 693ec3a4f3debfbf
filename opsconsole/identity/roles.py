"""The console's four roles and how they nest.

viewer reads; operator adds recovery actions; approver adds approval decisions; admin has
everything plus configuration views. Roles come only from the identity provider's groups
(or an API token's role), recomputed at every sign-in.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from opsconsole.audit.log import Actor, record

VIEWER = "viewer"
OPERATOR = "operator"
APPROVER = "approver"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, APPROVER, ADMIN)

View = TypeVar("View", bound=Callable[..., HttpResponseBase])

# Which held roles satisfy a required role.
_SATISFIED_BY = {
    VIEWER: {VIEWER, OPERATOR, APPROVER, ADMIN},
    OPERATOR: {OPERATOR, ADMIN},
    APPROVER: {APPROVER, ADMIN},
    ADMIN: {ADMIN},
}


def user_role(subject: Any) -> str | None:
    """The role of a request (session user or API token) or of a user; None when it has none."""
    auth = getattr(subject, "auth", None)
    token_role = getattr(auth, "role", None)
    if token_role in ROLES:
        return str(token_role)
    user = getattr(subject, "user", subject)
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    profile = getattr(user, "staff_profile", None)
    role = getattr(profile, "role", None)
    if getattr(profile, "is_active", True) is False:
        return None
    return str(role) if role in ROLES else None


def actor_for(request: Any) -> Actor:
    """The actor behind a request (session user or API token), as the audit log records it."""
    token = getattr(request, "auth", None)
    if token is not None and getattr(token, "token_hash", None):
        return Actor(type="token", id=str(token.name), role=str(token.role))
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return Actor(type="anonymous", id="anonymous")
    profile = getattr(user, "staff_profile", None)
    return Actor(
        type="user",
        id=user.email or user.username,
        sub=getattr(profile, "oidc_sub", "") or user.username,
        role=user_role(request) or "",
    )


def has_role(subject: Any, required: str) -> bool:
    """Whether the request or user holds `required` (or a role that includes it)."""
    return user_role(subject) in _SATISFIED_BY[required]


def role_required(required: str) -> Callable[[View], View]:
    """View decorator: 403 page (not a redirect loop) when the signed-in user lacks the role."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_role(request, required):
                if request.method not in ("GET", "HEAD", "OPTIONS"):
                    _audit_refusal(request, view, required, kwargs)
                return render(
                    request,
                    "identity/forbidden.html",
                    {"required_role": required, "role": user_role(request)},
                    status=403,
                )
            return view(request, *args, **kwargs)

        wrapper.required_role = required  # type: ignore[attr-defined]
        return cast(View, wrapper)

    return decorate


def _audit_refusal(
    request: HttpRequest, view: Callable[..., Any], required: str, kwargs: dict[str, Any]
) -> None:
    """A refused attempt to change something is an action attempt too: it is audited, once
    (here, since no action ran), under the view's name."""
    app = view.__module__.split(".")[-2] if "." in view.__module__ else view.__module__
    record(
        actor_for(request),
        f"{app}.{view.__name__}",
        result="refused",
        target_id=",".join(str(v) for v in kwargs.values())[:512],
        error=f"requires the {required} role (has {user_role(request) or 'none'})",
    )
