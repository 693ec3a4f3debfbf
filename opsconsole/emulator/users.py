"""The demo world's people: one sign-in per role on the local OIDC provider.

The seeded sagas name some of them as initiators (so "the initiator may not approve" can be
seen), and the demo sign-in page lists them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoUser:
    sub: str
    email: str
    name: str
    groups: tuple[str, ...]
    role: str | None  # what the groups map to with the default OIDC_ROLE_MAP


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("vera", "vera.viewer@example.com", "Vera Viewer", ("opsconsole-viewers",), "viewer"),
    DemoUser(
        "oscar",
        "oscar.operator@example.com",
        "Oscar Operator",
        ("opsconsole-operators",),
        "operator",
    ),
    DemoUser(
        "anna", "anna.approver@example.com", "Anna Approver", ("opsconsole-approvers",), "approver"
    ),
    DemoUser(
        "ben", "ben.approver@example.com", "Ben Approver", ("opsconsole-approvers",), "approver"
    ),
    DemoUser("ada", "ada.admin@example.com", "Ada Admin", ("opsconsole-admins",), "admin"),
    DemoUser("nora", "nora.norole@example.com", "Nora No-role", (), None),
)


def by_sub(sub: str) -> DemoUser | None:
    return next((u for u in DEMO_USERS if u.sub == sub), None)
