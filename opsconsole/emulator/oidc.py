"""The local OIDC provider of the demo and the tests (oidc-provider-mock, on 127.0.0.1).

`start(port)` serves it from a thread and returns a handle; `stop()` ends it. The provider
knows one sign-in per demo user (opsconsole/emulator/users.py) with email, name and groups
claims, and exactly one client: the console's (settings OIDC_RP_CLIENT_ID/SECRET, with the
console's callback URLs). It signs ID tokens with RS256 and publishes its key in /jwks.

It writes who its users are to settings.OIDC_DEMO_USERS_FILE, which the sign-in page lists
when OPSCONSOLE_OIDC_DEMO_USERS=1 (the product never imports this package).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import flask
import werkzeug.serving
from django.conf import settings
from oidc_provider_mock import User
from oidc_provider_mock import app as provider_app
from oidc_provider_mock._storage import Client

from .users import DEMO_USERS, DemoUser

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"


@dataclass
class ProviderHandle:
    """A running provider: its issuer URL (what the console must be configured with)."""

    port: int
    server: werkzeug.serving.BaseWSGIServer
    thread: threading.Thread
    flask_app: flask.Flask
    redirect_uris: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def endpoints(self) -> dict[str, str]:
        """The OIDC_OP_* settings that point the console at this provider."""
        return {
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/oauth2/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/oauth2/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/jwks",
        }

    @property
    def end_session_endpoint(self) -> str:
        return f"{self.issuer}/oauth2/end_session"

    def add_user(self, sub: str, claims: dict[str, object]) -> None:
        """Register (or replace) a sign-in, e.g. a user whose groups changed."""
        with self.flask_app.test_request_context():
            self.flask_app.preprocess_request()
            flask.g.oidc_provider_mock_storage.store_user(User(sub=sub, claims=claims))

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


_current: ProviderHandle | None = None
_lock = threading.Lock()


def claims_for(user: DemoUser) -> dict[str, object]:
    claims: dict[str, object] = {
        "email": user.email,
        "email_verified": True,
        "name": user.name,
        "given_name": user.name.split(" ")[0],
        "preferred_username": user.sub,
    }
    # A user with no groups gets no group claim at all (what most providers do).
    if user.groups:
        claims[settings.OIDC_GROUPS_CLAIM] = list(user.groups)
    return claims


def default_redirect_uris() -> list[str]:
    port = settings.WEB_PORT
    return [f"http://{host}:{port}/oidc/callback/" for host in ("127.0.0.1", "localhost")]


def _write_demo_users(users: Sequence[DemoUser]) -> None:
    path = settings.OIDC_DEMO_USERS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    listing = [
        {"sub": u.sub, "name": u.name, "email": u.email, "role": u.role, "groups": list(u.groups)}
        for u in users
    ]
    path.write_text(json.dumps(listing, indent=2))


def start(
    port: int = 0,
    *,
    users: Sequence[DemoUser] = DEMO_USERS,
    redirect_uris: Iterable[str] | None = None,
    token_max_age: timedelta = timedelta(hours=1),
    write_demo_users: bool = True,
) -> ProviderHandle:
    """Serve the provider on 127.0.0.1:`port` (0: any free port) from a daemon thread."""
    global _current
    uris = list(redirect_uris) if redirect_uris is not None else default_redirect_uris()
    flask_app = provider_app(
        require_client_registration=True,
        require_nonce=True,
        issue_refresh_token=False,
        access_token_max_age=token_max_age,
        user_claims=[User(sub=u.sub, claims=claims_for(u)) for u in users],
    )
    # Only the console may sign people in, and only back to the console.
    with flask_app.test_request_context():
        flask_app.preprocess_request()
        flask.g.oidc_provider_mock_storage.store_client(
            Client(
                id=settings.OIDC_RP_CLIENT_ID,
                secret=settings.OIDC_RP_CLIENT_SECRET,
                redirect_uris=uris,
                allowed_scopes=Client.SCOPES_SUPPORTED,
                token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
            )
        )
    server = werkzeug.serving.make_server(HOST, port, flask_app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.1},
        name="oidc-provider",
        daemon=True,
    )
    thread.start()
    handle = ProviderHandle(
        port=server.server_port,
        server=server,
        thread=thread,
        flask_app=flask_app,
        redirect_uris=uris,
    )
    if write_demo_users:
        _write_demo_users(users)
    with _lock:
        _current = handle
    logger.info("local OIDC provider at %s", handle.issuer)
    return handle


def stop() -> None:
    """Stop the provider `start` last started (no-op when none runs)."""
    global _current
    with _lock:
        handle, _current = _current, None
    if handle is not None:
        handle.stop()
