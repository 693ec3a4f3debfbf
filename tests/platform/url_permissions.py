"""Permission-matrix entries for the API's schema and docs (see tests/identity/matrix.py):
the same role as the rest of the API."""

from __future__ import annotations

from tests.identity.matrix import api, public

URL_PERMISSIONS = {
    "api-schema": api("viewer"),
    "api-docs": api("viewer"),
    "api-redoc": api("viewer"),
    # Any other URL under /api/v1/: the same 404 problem for everyone.
    "api-not-found": public(404, kwargs={"path": "no-such-thing/"}),
}
