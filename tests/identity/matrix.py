"""The permission matrix's vocabulary: what each kind of caller gets from a URL.

Every URL name in the resolver needs an entry. Each app declares its own, keyed by URL name
("namespace:name"), in `tests/<app>/url_permissions.py`:

    from tests.identity.matrix import api, page, public

    URL_PERMISSIONS = {
        "sagas:list": page("viewer", kwargs={"kind": "orders"}),
        "sagas:detail": page("viewer", kwargs={"kind": "orders", "key": "999999"}, ok=404),
        "approvals:decide": page("approver", method="POST", kwargs=make_request, ok=302),
        "api-approvals": api("viewer"),
    }

`kwargs` may be a callable (run inside the test, with the database) that creates what the
URL needs and returns the kwargs. `fixtures` names pytest fixtures to load first (e.g.
"aws"). For anything irregular, give `Access(statuses={...})` with a status per column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("viewer", "operator", "approver", "admin")
# "token" is a service-account Bearer token with the viewer role.
COLUMNS = ("anonymous", *ROLES, "token")
TOKEN_ROLE = "viewer"

# Stated here again on purpose: the matrix checks the product, it does not reuse it.
ALLOWED = {
    "viewer": {"viewer", "operator", "approver", "admin"},
    "operator": {"operator", "admin"},
    "approver": {"approver", "admin"},
    "admin": {"admin"},
}

Status = int | tuple[int, ...]


@dataclass(frozen=True)
class Access:
    statuses: dict[str, Status]
    method: str = "GET"
    kwargs: dict[str, Any] | Callable[[], dict[str, Any]] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    query: str = ""
    fixtures: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = set(COLUMNS) - set(self.statuses)
        if missing:
            raise ValueError(f"Access needs a status for {sorted(missing)}")


def page(role: str, *, ok: Status = 200, method: str = "GET", **options: Any) -> Access:
    """A staff page needing `role`: anonymous callers and tokens are sent to sign in (302),
    signed-in staff without the role get the 403 page."""
    statuses: dict[str, Status] = {"anonymous": 302, "token": 302}
    for held in ROLES:
        statuses[held] = ok if held in ALLOWED[role] else 403
    return Access(statuses=statuses, method=method, **options)


def api(role: str, *, ok: Status = 200, method: str = "GET", **options: Any) -> Access:
    """A REST endpoint needing `role`: anonymous 401, staff and tokens by their role."""
    statuses: dict[str, Status] = {"anonymous": 401}
    for held in ROLES:
        statuses[held] = ok if held in ALLOWED[role] else 403
    statuses["token"] = ok if TOKEN_ROLE in ALLOWED[role] else 403
    return Access(statuses=statuses, method=method, **options)


def public(ok: Status = 200, *, method: str = "GET", **options: Any) -> Access:
    """The same answer for everyone (probes, sign-in machinery)."""
    return Access(statuses=dict.fromkeys(COLUMNS, ok), method=method, **options)
