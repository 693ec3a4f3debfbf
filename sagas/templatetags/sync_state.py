"""`{% sync_state kind %}`: the kind's sync state, for its list page (see sagas/sync_status)."""

from __future__ import annotations

from typing import Any

from django import template

from opsconsole.aws.errors import AwsError

from ..sync_status import sync_status

register = template.Library()


@register.inclusion_tag("sagas/_sync_state.html")
def sync_state(kind: Any) -> dict[str, Any]:
    try:
        status = sync_status(kind)
    except AwsError:  # the budget's Redis is AWS-independent, but never fail the page
        status = None
    return {"kind": kind, "status": status}
