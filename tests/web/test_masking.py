from __future__ import annotations

import copy
import json

import pytest

from opsconsole.web.masking import (
    MASK,
    REDACTED_TOKEN,
    can_see_sensitive,
    mask_document,
    masker,
    scrub_tokens_in_text,
    sensitive_values,
)


def mask(document, fields):
    return mask_document(document, fields)


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
    shown = masker(ORDER_FIELDS, role=role)({**ORDER, "taskToken": "AAAA-secret"})
    assert (shown["customerEmail"] == "jo@example.com") is sees_raw
    assert can_see_sensitive(role) is sees_raw
    assert shown["taskToken"] == REDACTED_TOKEN  # admins included


def test_it_redacts_a_token_under_the_key_the_registry_names():
    doc = {"QueueUrl": "q", "MessageBody": {"callback": {"token": "AAAA-secret"}, "orderId": "1"}}
    masked = mask_document(doc, (), token_keys=("token",))
    assert masked["MessageBody"] == {"callback": {"token": REDACTED_TOKEN}, "orderId": "1"}


def test_it_redacts_a_token_inside_a_json_string():
    body = json.dumps({"taskToken": "AAAA-secret", "orderId": "8842"})
    doc = {"QueueUrl": "q", "MessageBody": body}
    text = json.dumps(mask_document(doc, ()))
    assert "AAAA-secret" not in text and "8842" in text
    assert "AAAA-secret" not in scrub_tokens_in_text(json.dumps(doc))


def test_it_masks_a_sensitive_value_a_step_copied_under_another_name():
    # ChargePayment hands the payment token to DynamoDB as an expression value.
    parameters = {
        "TableName": "orders",
        "ExpressionAttributeValues": {":token": {"S": "tok_123"}, ":amount": {"N": "120"}},
        "Note": "charging tok_123 for jo@example.com",
    }
    shown = masker(ORDER_FIELDS, role="viewer", seeds=[ORDER])(parameters)
    assert shown["ExpressionAttributeValues"] == {":token": {"S": MASK}, ":amount": {"N": "120"}}
    assert shown["Note"] == f"charging {MASK} for {MASK}"
    assert masker(ORDER_FIELDS, role="admin", seeds=[ORDER])(parameters) == parameters


def test_it_collects_the_values_behind_sensitive_paths_also_inside_json_strings():
    found = sensitive_values([{"input": json.dumps(ORDER)}], ORDER_FIELDS)
    assert {"jo@example.com", "+44 1234", "1 High St", "Leeds", "tok_123"} <= found
    assert "8842" not in found and "120" not in found


def test_it_redacts_a_task_token_that_reaches_a_log_line(caplog):
    import logging

    from opsconsole.web.masking import RedactingLogFilter

    logger = logging.getLogger("opsconsole.test.redaction")
    logger.addFilter(RedactingLogFilter())
    try:
        with caplog.at_level(logging.INFO, logger="opsconsole.test.redaction"):
            logger.info("callback body %s", json.dumps({"taskToken": "AAAAKgAAAAIAAAAAAAAAAf0r"}))
            logger.info("SendTaskSuccess failed: taskToken=AAAAKgAAAAIAAAAAAAAAAf0r expired")
            logger.info("order 8842 resumed")
    finally:
        logger.filters.clear()
    text = caplog.text
    assert "AAAAKgAAAAIAAAAAAAAAAf0r" not in text
    assert text.count(REDACTED_TOKEN) == 2 and "order 8842 resumed" in text
