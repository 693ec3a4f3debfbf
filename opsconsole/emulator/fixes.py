"""Fixing the demo world's seeded causes, so a redrive or restart of a failed saga can
succeed: what the team downstream would do (`python manage.py demo_fix ...`).

- reopen the courier slot of the postcode with no capacity (the order is NEEDS_REVIEW and
  its execution FAILED at RebookShipment: redrive it);
- restock the low-stock item (ReserveInventory failed, the order was compensated);
- clear an account's payment-provider error (HandleBilling failed, uncaught: redrive the
  closure) or lift its legal hold (AnonymizeUserData refused: restart the closure).
"""

from __future__ import annotations

from opsconsole.aws import dynamodb

from . import asl, world


def reopen_slot(postcode: str = asl.NO_SLOT_POSTCODE) -> str:
    dynamodb.put_item(world.INVENTORY_TABLE, {"pk": f"SLOT#{postcode}"})
    return f"courier slot for {postcode} reopened"


def close_slot(postcode: str = asl.NO_SLOT_POSTCODE) -> str:
    dynamodb.put_item(
        world.INVENTORY_TABLE,
        {"pk": f"SLOT#{postcode}", "closed": True, "reason": "courier has no capacity"},
    )
    return f"courier slot for {postcode} closed"


def restock(sku: str = world.LOW_STOCK_SKU, stock: int = 1000) -> str:
    found = dynamodb.get_item(world.INVENTORY_TABLE, {"pk": f"SKU#{sku}"}) or {}
    dynamodb.put_item(
        world.INVENTORY_TABLE, {**found, "pk": f"SKU#{sku}", "sku": sku, "stock": stock}
    )
    return f"{sku} restocked to {stock}"


def _account_item(account_id: str, sk: str) -> dict:
    return dynamodb.get_item(world.ACCOUNTS_TABLE, {"pk": f"ACCOUNT#{account_id}", "sk": sk}) or {}


def _reopen_closure(account_id: str, lift_hold: bool = False) -> None:
    # A failed closure left the account pending_deletion; a new closure run (a restart)
    # starts from an active account, as the closure's validation requires.
    profile = _account_item(account_id, "PROFILE")
    if profile:
        profile.pop("closure_request_id", None)
        if lift_hold:
            profile.pop("legal_hold", None)
        if profile.get("status") == "pending_deletion":
            profile["status"] = "active"
        dynamodb.put_item(world.ACCOUNTS_TABLE, profile)


def clear_billing_error(account_id: str) -> str:
    item = _account_item(account_id, "BILLING")
    if not item:
        return f"account {account_id} has no billing item"
    item.pop("provider_error", None)
    dynamodb.put_item(world.ACCOUNTS_TABLE, item)
    # The closure stopped at HandleBilling (uncaught) with the account anonymized and still
    # pending_deletion: it is redriven from there, not restarted, so the account stays as is.
    return (
        f"payment-provider error of account {account_id} cleared; "
        "redrive its closure (it resumes at HandleBilling)"
    )


def lift_legal_hold(account_id: str) -> str:
    if not _account_item(account_id, "PROFILE"):
        return f"account {account_id} has no profile"
    _reopen_closure(account_id, lift_hold=True)
    return f"legal hold of account {account_id} lifted; its closure can run again"
