"""Reading amounts and initiators out of saga documents (an execution's input, an approval
step's callback message): one set of rules, so the read model and the approvals inbox agree
on what a document says. Pure: no I/O."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
# What a DecimalField(max_digits=14, decimal_places=2) can hold; a larger figure is noise.
AMOUNT_LIMIT = Decimal("1e12")


def text(value: Any, limit: int) -> str:
    """A field as text, at most `limit` characters (objects and lists as compact JSON)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"))
    return str(value)[:limit]


def parse_amount(value: Any) -> Decimal | None:
    """A money amount to the cent, or None when `value` is not a usable number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
        if not amount.is_finite():
            return None
        amount = amount.quantize(CENT)
    except (InvalidOperation, ValueError):
        return None
    return amount if abs(amount) < AMOUNT_LIMIT else None


def parse_initiator(value: Any) -> tuple[str, str]:
    """(type, id) of whoever started a saga: `{"type": ..., "id": ...}` (or `name`), or a
    bare id."""
    if isinstance(value, dict):
        return text(value.get("type"), 32), text(value.get("id") or value.get("name"), 255)
    return "", text(value, 255)
