"""The demo world offers a way to fix each seeded cause, so a restart (or redrive) succeeds."""

from __future__ import annotations

from django.core.management import call_command

from opsconsole.aws import dynamodb
from opsconsole.emulator import asl, fixes, world


def test_each_seeded_cause_can_be_fixed_from_the_command_line(aws, capsys):
    world.build()
    dynamodb.put_item(
        world.ACCOUNTS_TABLE,
        {"pk": "ACCOUNT#78", "sk": "BILLING", "provider_error": "503 from the provider"},
    )
    dynamodb.put_item(
        world.ACCOUNTS_TABLE,
        {
            "pk": "ACCOUNT#78",
            "sk": "PROFILE",
            "status": "pending_deletion",
            "closure_request_id": "x",
        },
    )
    call_command("demo_fix", "reopen-slot", endpoint=None)
    call_command("demo_fix", "restock", endpoint=None)
    call_command("demo_fix", "clear-billing", "78", endpoint=None)
    out = capsys.readouterr().out
    assert "reopened" in out and "restocked" in out and "cleared" in out
    slot = dynamodb.get_item(world.INVENTORY_TABLE, {"pk": f"SLOT#{asl.NO_SLOT_POSTCODE}"})
    assert "closed" not in slot
    assert (
        dynamodb.get_item(world.INVENTORY_TABLE, {"pk": f"SKU#{world.LOW_STOCK_SKU}"})["stock"]
        == 1000
    )
    billing = dynamodb.get_item(world.ACCOUNTS_TABLE, {"pk": "ACCOUNT#78", "sk": "BILLING"})
    assert "provider_error" not in billing
    profile = dynamodb.get_item(world.ACCOUNTS_TABLE, {"pk": "ACCOUNT#78", "sk": "PROFILE"})
    # Its closure stopped at HandleBilling with the account pending deletion: it is
    # redriven from there, so the account is not reopened.
    assert profile["status"] == "pending_deletion"
    assert "closed" in fixes.close_slot()
