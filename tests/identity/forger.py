"""A tiny stand-in provider that signs whatever ID token a test asks for with its own RSA key.

The real local provider only issues correct tokens; wrong audiences, issuers, keys and
algorithms are forged here and still go through the console's real callback, token request
and JWKS fetch over HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig", "alg": "RS256"}


class Forger:
    def __init__(self) -> None:
        self.key = new_key()
        self.kid = "forger-1"
        self.published: list[dict[str, Any]] = [public_jwk(self.key, self.kid)]
        self.claims: dict[str, Any] = {}
        self.header: dict[str, Any] = {"kid": self.kid}
        self.token_override: str | None = None
        self.token_requests: list[dict[str, str]] = []
        self.jwks_fetches = 0
        self.port = 0

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoints(self) -> dict[str, str]:
        return {
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.issuer}/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.issuer}/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.issuer}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.issuer}/jwks",
        }

    def good_claims(self, *, nonce: str, client_id: str, **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        return {
            "iss": self.issuer,
            "aud": client_id,
            "sub": "forged-user",
            "iat": now,
            "exp": now + 300,
            "nonce": nonce,
            "email": "forged@example.com",
            "groups": ["opsconsole-viewers"],
            **extra,
        }

    def id_token(self) -> str:
        if self.token_override is not None:
            return self.token_override
        return jwt.encode(self.claims, self.key, algorithm="RS256", headers=self.header)


def _handler(forger: Forger) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path.startswith("/jwks"):
                forger.jwks_fetches += 1
                self._json({"keys": forger.published})
            elif self.path.startswith("/userinfo"):
                self._json({k: v for k, v in forger.claims.items() if k not in ("aud", "nonce")})
            else:
                self._json({"error": "not found"}, 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            forger.token_requests.append(form)
            self._json(
                {
                    "access_token": "forged-access",
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": forger.id_token(),
                }
            )

    return Handler


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@contextmanager
def running_forger() -> Iterator[Forger]:
    forger = Forger()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(forger))
    forger.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield forger
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
