"""Permission-matrix entries for the platform, identity and audit URLs (see matrix.py)."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import Access, api, page, public


def _token() -> dict[str, Any]:
    from opsconsole.audit.log import Actor
    from opsconsole.identity.actions import issue_api_token

    token, _ = issue_api_token(Actor.system("matrix"), "matrix-revoke", "viewer")
    return {"token_id": token.pk}


URL_PERMISSIONS: dict[str, Access] = {
    "healthz": public(),
    # Ready or not depends on the environment; what matters is that nobody needs to sign in.
    "readyz": public((200, 503)),
    # Sign-in machinery: reachable by everyone.
    "oidc_authentication_init": public(302),
    "oidc_authentication_callback": public(400),  # no code/state: a clear refusal page
    "oidc_logout": public(302, method="POST"),
    "identity:login": Access(
        statuses={
            "anonymous": 200,
            "viewer": 302,
            "operator": 302,
            "approver": 302,
            "admin": 302,
            "token": 200,
        }
    ),
    "identity:logout": public(302, method="POST"),
    "identity:break_glass": public(404),  # off unless OPSCONSOLE_BREAK_GLASS_LOGIN=1
    "identity:tokens": page("admin"),
    "identity:revoke_token": page(
        "admin", method="POST", ok=302, kwargs=_token, data={"confirmed": "1"}
    ),
    "audit:index": page("admin"),
    "audit:export": page("admin"),
    "audit-list": api("admin"),
}

# Entries for other apps' URLs as they were in the skeleton. An app's own
# tests/<app>/url_permissions.py overrides these; owners should move them there.
PROVISIONAL: dict[str, Access] = {
    "home": page("viewer"),
    "sagas:list": page("viewer", kwargs={"kind": "orders"}),
    "approvals:inbox": page("viewer"),
    "recovery:index": page("viewer"),
    "monitoring:alerts": page("viewer"),
}
