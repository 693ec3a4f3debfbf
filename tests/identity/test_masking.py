from __future__ import annotations

import copy
import json

import pytest

from opsconsole.identity.masking import MASK, can_see_sensitive, mask, mask_for_role

ORDER_FIELDS = [
    "data.customer.email",
    "data.customer.phone",
    "data.shipping.address",
    "data.payment.token",
    "customerEmail",
]

ORDER = {
    "orderId": "8842",
    "correlationId": "c-1",
    "data": {
        "customer": {"id": "77", "email": "jo@example.com", "phone": "+44 1234"},
        "shipping": {"address": {"line1": "1 High St", "city": "Leeds"}, "method": "courier"},
        "payment": {"token": "tok_123", "amount": 120},
        "items": [{"sku": "A", "qty": 1}],
    },
    "customerEmail": "jo@example.com",
}


def test_it_masks_each_named_field_and_keeps_the_rest():
    masked = mask(ORDER, ORDER_FIELDS)
    assert masked["data"]["customer"] == {"id": "77", "email": MASK, "phone": MASK}
    assert masked["data"]["shipping"] == {"address": MASK, "method": "courier"}
    assert masked["data"]["payment"] == {"token": MASK, "amount": 120}
    assert masked["customerEmail"] == MASK
    assert masked["orderId"] == "8842" and masked["data"]["items"] == [{"sku": "A", "qty": 1}]


def test_it_does_not_change_the_document_it_was_given():
    before = copy.deepcopy(ORDER)
    mask(ORDER, ORDER_FIELDS)
    assert before == ORDER


def test_it_matches_a_path_wherever_the_document_nests_it():
    event = {"detail": {"envelope": {"data": {"customer": {"email": "a@b.c"}}}}}
    assert (
        mask(event, ["data.customer.email"])["detail"]["envelope"]["data"]["customer"]["email"]
        == MASK
    )
    # a key path must END with the sensitive path, not merely contain its last key
    assert (
        mask({"data": {"vendor": {"email": "x"}}}, ["data.customer.email"])["data"]["vendor"][
            "email"
        ]
        == "x"
    )


def test_it_masks_inside_lists():
    doc = {"data": {"customers": [{"email": "a"}, {"email": "b"}]}}
    assert mask(doc, ["customers.email"])["data"]["customers"] == [{"email": MASK}, {"email": MASK}]


def test_it_masks_inside_json_held_in_strings():
    history = {"type": "ExecutionStarted", "input": json.dumps(ORDER)}
    masked = mask(history, ORDER_FIELDS)
    inner = json.loads(masked["input"])
    assert inner["data"]["customer"]["email"] == MASK and inner["orderId"] == "8842"
    untouched = {"input": json.dumps({"orderId": "1"})}
    assert mask(untouched, ORDER_FIELDS) == untouched


def test_it_leaves_missing_values_alone_and_tolerates_odd_input():
    assert mask({"email": None}, ["email"]) == {"email": None}
    assert mask("plain text", ["email"]) == "plain text"
    assert mask({"email": "x"}, []) == {"email": "x"}
    assert mask({"a": "{not json"}, ["a.b"]) == {"a": "{not json"}


@pytest.mark.parametrize(
    ("role", "sees_raw"),
    [("viewer", False), ("operator", False), ("approver", False), ("admin", True), (None, False)],
)
def test_it_shows_raw_values_only_to_admins(role, sees_raw):
    shown = mask_for_role(ORDER, ORDER_FIELDS, role)
    assert (shown["customerEmail"] == "jo@example.com") is sees_raw
    assert can_see_sensitive(role) is sees_raw
