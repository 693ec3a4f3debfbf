from __future__ import annotations

import pytest

from opsconsole.identity.oidc import groups_from_claims, role_for_groups, role_map
from opsconsole.identity.roles import actor_for, has_role, user_role
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def test_it_maps_groups_to_the_strongest_role(settings):
    assert role_for_groups(["opsconsole-viewers", "opsconsole-admins"]) == "admin"
    assert role_for_groups(["opsconsole-approvers", "opsconsole-viewers"]) == "approver"
    assert role_for_groups(["everyone"]) == ""
    assert role_for_groups([]) == ""


def test_it_ignores_mappings_to_roles_that_do_not_exist(settings):
    settings.OIDC_ROLE_MAP = "g1=superuser, g2 = operator,junk"
    assert role_map() == {"g2": "operator"}
    assert role_for_groups(["g1"]) == ""


def test_it_reads_the_configured_group_claim(settings):
    settings.OIDC_GROUPS_CLAIM = "roles"
    assert groups_from_claims({"roles": "opsconsole-admins"}) == ["opsconsole-admins"]
    assert groups_from_claims({"groups": ["opsconsole-admins"]}) == []
    assert groups_from_claims({"roles": {"odd": 1}}) == []


@pytest.mark.parametrize(
    ("held", "allowed"),
    [
        ("viewer", {"viewer"}),
        ("operator", {"viewer", "operator"}),
        ("approver", {"viewer", "approver"}),
        ("admin", {"viewer", "operator", "approver", "admin"}),
    ],
)
def test_it_nests_roles(held, allowed):
    user = make_user(held)
    assert {r for r in ("viewer", "operator", "approver", "admin") if has_role(user, r)} == allowed


def test_it_gives_no_role_to_users_without_one_or_deactivated():
    assert user_role(make_user(None)) is None
    user = make_user("admin", username="gone")
    user.staff_profile.is_active = False
    assert user_role(user) is None


def test_it_names_the_actor_behind_a_request(rf, users):
    request = rf.get("/")
    request.user = users["operator"]
    actor = actor_for(request)
    assert (actor.type, actor.id, actor.sub, actor.role) == (
        "user",
        "operator@example.com",
        "operator",
        "operator",
    )
