"""Permission-matrix entries for the saga pages and API (see tests/identity/matrix.py)."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import api, page


def _saga() -> Any:
    """A compensated order with its history cached: its pages need no AWS call."""
    from sagas.models import Saga
    from tests.sagas.factories import saga_from_history

    found = Saga.objects.filter(kind="orders", business_key="8843").first()
    return found or saga_from_history("order_declined", business_status="CANCELLED_COMPENSATED")


def _case() -> dict[str, Any]:
    return {"kind": "orders", "key": _saga().business_key}


def _ref() -> dict[str, Any]:
    return {"ref": str(_saga().pk)}


URL_PERMISSIONS = {
    "home": page("viewer", query="overview=1"),
    "sagas:list": page("viewer", kwargs={"kind": "orders"}),
    "sagas:search": page("viewer", query="q=nothing-matches"),
    "sagas:time_zone": page("viewer"),
    "sagas:export": page("viewer", kwargs={"kind": "orders"}),
    "sagas:detail": page("viewer", kwargs=_case),
    "sagas:history": page("viewer", kwargs=_case),
    "api-sagas": api("viewer"),
    "api-saga": api("viewer", kwargs=_ref),
    "api-saga-timeline": api("viewer", kwargs=_ref),
    "sagas:sync": page("admin"),
    "api-sync": api("viewer"),
    "api-aws-budget": api("admin"),
    "sagas:tickets_panel": page("viewer", kwargs=lambda: {"saga_id": _saga().pk}),
    # No ticket number: allowed callers get the form's message and go back to the case page.
    "sagas:link_ticket": page(
        "operator", method="POST", kwargs=lambda: {"saga_id": _saga().pk}, ok=303
    ),
    "api-ticket-sagas": api("viewer", kwargs={"number": "INC0010001"}),
    # No ticket number: operators get the 400, others the 403 before it.
    "api-saga-tickets": api("operator", method="POST", kwargs=_ref, ok=400),
}
