"""The demo world's two state machines, written as Amazon States Language.

They use real service integrations (DynamoDB, SQS, SNS, EventBridge, `waitForTaskToken`),
so the console meets the history, errors and callbacks it will meet in production. The
state names are the ones config/demo.yaml lists as `steps` / `compensation_steps`; the few
helper states (inside Map iterations, Choices, the NEEDS_REVIEW parking) are named so a
person reading a timeline understands them.

Test hooks (deterministic failures the seeder and the tests use):
- stock short: an item asks for more than `inventory` holds -> ReserveInventory fails
  (conditional decrement) -> compensation.
- declining card: `data.payment.token == DECLINING_CARD_TOKEN` -> ChargePayment's
  conditional write fails -> compensation.
- courier postcode with no slots: `data.shipping.postcode == NO_SLOT_POSTCODE` (its slot item
  is closed) -> BookShipment retries, the order (charged, not shipped) is parked in
  NEEDS_REVIEW, RebookShipment retries and gives up: the execution FAILED at RebookShipment
  (uncaught), so a redrive after the slot is reopened resumes there and confirms the order.
- pre-order: `data.shipping.dispatchAt` (ISO timestamp) -> the execution waits in
  AwaitDispatchDate until then (a long-running, non-approval RUNNING execution).
- approval: `data.amount > APPROVAL_THRESHOLD`; `options.approvalTimeoutSeconds` shortens
  the 24 h approval timeout (the "timed out" seed).
- closures: an account with `legal_hold` cannot be anonymized: a critical alert, then the
  Fail state `AccountClosureFailed` (fix the hold, restart). An account whose BILLING item
  has `provider_error` fails HandleBilling after 3 retries, uncaught: the execution FAILED at
  HandleBilling, redrivable once the error is cleared.

Compensated failures (declined card, stock short, rejected or timed-out approval) end in a
Fail state after unwinding: a redrive would run that Fail state again, so they are
restarted. Uncaught ones end at the Task that failed: a redrive resumes that Task.

`order_intake()` is the small workflow the orders-bus rule starts for each `OrderPlaced`
event: it starts the saga under a name derived from the order, so a replayed event for an
order that already has a run starts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

APPROVAL_THRESHOLD = 1000
APPROVAL_TIMEOUT_SECONDS = 86400
DECLINING_CARD_TOKEN = "tok_chargeDeclined"  # noqa: S105 - a well-known test card, not a secret
NO_SLOT_POSTCODE = "ZZ9 9ZZ"
EVENT_SOURCE = "opsconsole.demo.orders"

# Errors worth retrying (throttling, a service hiccup); everything else is terminal.
TRANSIENT_ERRORS = [
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.AmazonDynamoDBException",
    "SQS.SdkClientException",
    "SQS.AmazonSQSException",
    "SNS.InternalErrorException",
    "SNS.ThrottledException",
    "EventBridge.FailedEntry",
]
CONDITION_FAILED = "DynamoDB.ConditionalCheckFailedException"


@dataclass(frozen=True)
class Targets:
    """Where the state machines send things (URLs/ARNs of the world's resources)."""

    orders_table: str
    inventory_table: str
    accounts_table: str
    order_approvals_url: str
    closure_approvals_url: str
    shipments_url: str
    closure_emails_url: str
    orders_bus: str
    compliance_topic_arn: str
    accounting_topic_arn: str
    critical_alerts_topic_arn: str


# --- small builders ----------------------------------------------------------------------


def _retry(max_attempts: int = 2, errors: list[str] | None = None) -> list[dict[str, Any]]:
    # Small intervals so the demo and the tests move quickly; the shape is production's.
    return [
        {
            "ErrorEquals": errors or TRANSIENT_ERRORS,
            "IntervalSeconds": 1,
            "MaxAttempts": max_attempts,
            "BackoffRate": 2.0,
        }
    ]


def _catch(target: str, result_path: str = "$.failure") -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": target}]


def _s(path: str) -> dict[str, str]:
    """A DynamoDB string attribute taken from a JSON path."""
    return {"S.$": path}


def _n(path: str) -> dict[str, str]:
    """A DynamoDB number attribute taken from a JSON path (numbers travel as strings)."""
    return {"N.$": f"States.Format('{{}}', {path})"}


def _order_key(sk: str) -> dict[str, Any]:
    return {"pk": {"S.$": "States.Format('ORDER#{}', $.data.orderId)"}, "sk": {"S": sk}}


def _account_key(sk: str) -> dict[str, Any]:
    return {"pk": {"S.$": "States.Format('ACCOUNT#{}', $.data.accountId)"}, "sk": {"S": sk}}


def _correlation_attribute() -> dict[str, Any]:
    return {"correlationId": {"DataType": "String", "StringValue.$": "$.meta.correlationId"}}


def _task(resource: str, parameters: dict[str, Any], nxt: str | None, **extra: Any) -> dict:
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": resource,
        "Parameters": parameters,
        "ResultPath": None,
        # Every task retries transient errors; a state may ask for other retries.
        "Retry": _retry(),
    }
    state.update(extra)
    if nxt is None:
        state["End"] = True
    else:
        state["Next"] = nxt
    return state


UPDATE_ITEM = "arn:aws:states:::dynamodb:updateItem"
PUT_ITEM = "arn:aws:states:::dynamodb:putItem"
GET_ITEM = "arn:aws:states:::dynamodb:getItem"
DELETE_ITEM = "arn:aws:states:::dynamodb:deleteItem"
SQS_SEND = "arn:aws:states:::sqs:sendMessage"
SQS_SEND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
SNS_PUBLISH = "arn:aws:states:::sns:publish"
PUT_EVENTS = "arn:aws:states:::events:putEvents"


def _event_entry(t: Targets, detail_type: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventBusName": t.orders_bus,
        "Source": EVENT_SOURCE,
        "DetailType": detail_type,
        "Detail": {
            "meta": {
                "messageType": "event",
                "eventName": detail_type,
                "schemaVersion": "1",
                "eventId.$": "States.UUID()",
                "correlationId.$": "$.meta.correlationId",
                "causationId.$": "$.meta.commandId",
                "occurredAt.$": "$$.State.EnteredTime",
                "tenantId.$": "$.meta.tenantId",
                "initiator.$": "$.meta.initiator",
            },
            "data": data,
        },
    }


# --- OrderFulfillment --------------------------------------------------------------------


def order_fulfillment(t: Targets) -> dict[str, Any]:
    """The order saga: validate, check, reserve, approve, charge, burn, ship, confirm."""
    orders, inventory = t.orders_table, t.inventory_table

    def stamp(sk: str, status: str, extra: str = "", values: dict[str, Any] | None = None):
        return {
            "TableName": orders,
            "Key": _order_key(sk),
            "UpdateExpression": (
                "SET #status = :status, completed_at = :at, execution_arn = :exec" + extra
            ),
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":status": {"S": status},
                ":at": _s("$$.State.EnteredTime"),
                ":exec": _s("$$.Execution.Id"),
                **(values or {}),
            },
        }

    def undo(sk: str, status: str) -> dict[str, Any]:
        # Unwind only what completed: the condition skips a step whose stamp is missing.
        params = stamp(sk, status)
        params["ConditionExpression"] = "attribute_exists(pk)"
        return params

    def compensation(params: dict[str, Any], nxt: str) -> dict[str, Any]:
        return _task(
            UPDATE_ITEM,
            params,
            nxt,
            Catch=[
                {"ErrorEquals": [CONDITION_FAILED], "ResultPath": None, "Next": nxt},
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": "$.compensationFailure",
                    "Next": "MarkNeedsReview",
                },
            ],
        )

    # One item of a Map over the order's items: its reservation row.
    reservation_key = {
        "pk": {"S.$": "States.Format('ORDER#{}', $.orderId)"},
        "sk": {"S.$": "States.Format('RESERVATION#{}', $.sku)"},
    }
    reserve_item = {
        "StartAt": "ReserveStock",
        "States": {
            "ReserveStock": _task(
                UPDATE_ITEM,
                {
                    "TableName": inventory,
                    "Key": {"pk": {"S.$": "States.Format('SKU#{}', $.sku)"}},
                    "UpdateExpression": "SET stock = stock - :qty",
                    "ConditionExpression": "attribute_exists(pk) AND stock >= :qty",
                    "ExpressionAttributeValues": {":qty": _n("$.qty")},
                },
                "RecordReservation",
            ),
            "RecordReservation": _task(
                PUT_ITEM,
                {
                    "TableName": orders,
                    "Item": {
                        **reservation_key,
                        "sku": _s("$.sku"),
                        "qty": _n("$.qty"),
                        "status": {"S": "RESERVED"},
                        "completed_at": _s("$$.State.EnteredTime"),
                    },
                },
                None,
            ),
        },
    }
    release_item = {
        "StartAt": "DropReservation",
        "States": {
            "DropReservation": _task(
                DELETE_ITEM,
                {
                    "TableName": orders,
                    "Key": reservation_key,
                    "ConditionExpression": "attribute_exists(pk)",
                },
                "RestoreStock",
                Catch=[{"ErrorEquals": [CONDITION_FAILED], "Next": "NothingReserved"}],
            ),
            "RestoreStock": _task(
                UPDATE_ITEM,
                {
                    "TableName": inventory,
                    "Key": {"pk": {"S.$": "States.Format('SKU#{}', $.sku)"}},
                    "UpdateExpression": "SET stock = stock + :qty",
                    "ExpressionAttributeValues": {":qty": _n("$.qty")},
                },
                None,
            ),
            "NothingReserved": {"Type": "Succeed"},
        },
    }
    item_selector = {
        "orderId.$": "$.data.orderId",
        "sku.$": "$$.Map.Item.Value.sku",
        "qty.$": "$$.Map.Item.Value.qty",
    }

    book_slot = {
        "TableName": inventory,
        "Key": {"pk": {"S.$": "States.Format('SLOT#{}', $.data.shipping.postcode)"}},
        "UpdateExpression": "ADD booked :one",
        # The courier has closed this postcode's slots: retry, then a human decides.
        "ConditionExpression": "attribute_not_exists(closed)",
        "ExpressionAttributeValues": {":one": {"N": "1"}},
    }
    slot_retry = _retry(errors=[CONDITION_FAILED, *TRANSIENT_ERRORS])

    states: dict[str, Any] = {
        "ValidateOrder": _task(
            PUT_ITEM,
            {
                "TableName": orders,
                "Item": {
                    "pk": {"S.$": "States.Format('ORDER#{}', $.data.orderId)"},
                    "sk": {"S": "META"},
                    "orderId": _s("$.data.orderId"),
                    "status": {"S": "PENDING"},
                    "amount": _n("$.data.amount"),
                    "currency": _s("$.data.currency"),
                    "customerId": _s("$.data.customer.id"),
                    "customerEmail": _s("$.data.customer.email"),
                    "correlationId": _s("$.meta.correlationId"),
                    "execution_arn": _s("$$.Execution.Id"),
                    "created_at": _s("$$.State.EnteredTime"),
                },
                # Never fulfil an order twice; a failed or parked order may be restarted.
                "ConditionExpression": "attribute_not_exists(pk) OR #status <> :confirmed",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {":confirmed": {"S": "CONFIRMED"}},
            },
            "Checks",
            Catch=_catch("OrderRejected"),
        ),
        "OrderRejected": {
            "Type": "Fail",
            "Error": "OrderInvalid",
            "Cause": "The order could not be accepted (already confirmed, or invalid).",
        },
        "Checks": {
            "Type": "Parallel",
            "ResultPath": None,
            "Branches": [
                {
                    "StartAt": "InventoryCheck",
                    "States": {
                        "InventoryCheck": _task(
                            GET_ITEM,
                            {
                                "TableName": inventory,
                                "Key": {
                                    "pk": {"S.$": "States.Format('SKU#{}', $.data.items[0].sku)"}
                                },
                                "ConsistentRead": True,
                            },
                            None,
                        )
                    },
                },
                {
                    "StartAt": "FraudCheck",
                    "States": {
                        "FraudCheck": _task(
                            UPDATE_ITEM,
                            stamp(
                                "CHECK#FRAUD",
                                "PASSED",
                                ", score = :score",
                                {":score": {"N": "3"}},
                            ),
                            None,
                        )
                    },
                },
            ],
            "Next": "ReserveInventory",
            "Catch": _catch("MarkCompensated"),
        },
        "ReserveInventory": {
            "Type": "Map",
            "ItemsPath": "$.data.items",
            "ItemSelector": item_selector,
            "MaxConcurrency": 1,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **reserve_item},
            "ResultPath": None,
            "Next": "NeedsApproval",
            "Catch": _catch("ReleaseInventory"),
        },
        "NeedsApproval": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.data.amount",
                    "NumericLessThanEquals": APPROVAL_THRESHOLD,
                    "Next": "ChargePayment",
                },
                {
                    "Variable": "$.options.approvalTimeoutSeconds",
                    "IsPresent": True,
                    "Next": "AwaitApproval",
                },
            ],
            "Default": "DefaultApprovalTimeout",
        },
        "DefaultApprovalTimeout": {
            "Type": "Pass",
            "Result": {"approvalTimeoutSeconds": APPROVAL_TIMEOUT_SECONDS},
            "ResultPath": "$.options",
            "Next": "AwaitApproval",
        },
        "AwaitApproval": {
            "Type": "Task",
            "Resource": SQS_SEND_WAIT,
            "TimeoutSecondsPath": "$.options.approvalTimeoutSeconds",
            "Parameters": {
                "QueueUrl": t.order_approvals_url,
                "MessageBody": {
                    "taskToken.$": "$$.Task.Token",
                    "orderId.$": "$.data.orderId",
                    "executionArn.$": "$$.Execution.Id",
                    "amount.$": "$.data.amount",
                    "currency.$": "$.data.currency",
                    "threshold": APPROVAL_THRESHOLD,
                    "correlationId.$": "$.meta.correlationId",
                    "initiator.$": "$.meta.initiator",
                },
                "MessageAttributes": _correlation_attribute(),
            },
            "ResultPath": "$.approval",
            "Next": "ChargePayment",
            "Catch": _catch("ReleaseInventory"),
        },
        "ChargePayment": _task(
            UPDATE_ITEM,
            {
                **stamp(
                    "PAYMENT",
                    "CHARGED",
                    ", amount = :amount, currency = :currency",
                    {
                        ":amount": _n("$.data.amount"),
                        ":currency": _s("$.data.currency"),
                        ":token": _s("$.data.payment.token"),
                        ":declining": {"S": DECLINING_CARD_TOKEN},
                    },
                ),
                # The emulated payment provider: the declining test card is refused.
                "ConditionExpression": ":token <> :declining",
            },
            "BurnLoyaltyPoints",
            Catch=_catch("ReleaseInventory"),
        ),
        "BurnLoyaltyPoints": _task(
            UPDATE_ITEM,
            stamp("LOYALTY", "BURNED", ", points = :points", {":points": _n("$.data.amount")}),
            "ScheduledDispatch",
            Catch=_catch("RefundPayment"),
        ),
        "ScheduledDispatch": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.data.shipping.dispatchAt",
                    "IsPresent": True,
                    "Next": "AwaitDispatchDate",
                }
            ],
            "Default": "BookShipment",
        },
        "AwaitDispatchDate": {
            "Type": "Wait",
            "TimestampPath": "$.data.shipping.dispatchAt",
            "Next": "BookShipment",
        },
        "BookShipment": _task(
            UPDATE_ITEM,
            book_slot,
            "RecordShipment",
            Retry=slot_retry,
            Catch=[
                {
                    "ErrorEquals": [CONDITION_FAILED],
                    "ResultPath": "$.failure",
                    "Next": "ParkForReview",
                },
                {
                    "ErrorEquals": ["States.ALL"],
                    "ResultPath": "$.failure",
                    "Next": "RestoreLoyaltyPoints",
                },
            ],
        ),
        # The courier has no slot: the order is charged but not shipped. Nothing is undone
        # (the customer paid and wants the goods): the order is parked for a person, and
        # the saga tries the booking once more. When that gives up too, the execution
        # stops FAILED *at* RebookShipment (its error is not caught), so once the slot is
        # reopened a redrive resumes there and the order goes on to CONFIRMED.
        "ParkForReview": _task(
            UPDATE_ITEM,
            stamp(
                "META",
                "NEEDS_REVIEW",
                ", review_reason = :reason",
                {":reason": {"S": "no courier slot for the postcode; charged, not shipped"}},
            ),
            "RebookShipment",
        ),
        "RebookShipment": _task(UPDATE_ITEM, book_slot, "RecordShipment", Retry=slot_retry),
        "RecordShipment": _task(
            UPDATE_ITEM,
            stamp(
                "SHIPMENT",
                "BOOKED",
                ", postcode = :postcode",
                {":postcode": _s("$.data.shipping.postcode")},
            ),
            "QueueShipment",
            Catch=_catch("CancelShipment"),
        ),
        "QueueShipment": _task(
            SQS_SEND,
            {
                "QueueUrl": t.shipments_url,
                "MessageBody": {
                    "orderId.$": "$.data.orderId",
                    "postcode.$": "$.data.shipping.postcode",
                    "items.$": "$.data.items",
                    "correlationId.$": "$.meta.correlationId",
                },
                "MessageAttributes": _correlation_attribute(),
            },
            "MarkConfirmed",
            Catch=_catch("CancelShipment"),
        ),
        "MarkConfirmed": _task(
            UPDATE_ITEM,
            stamp("META", "CONFIRMED"),
            "PublishOrderConfirmed",
            Catch=_catch("CancelShipment"),
        ),
        # The order is confirmed: a missing event is redriven, never compensated.
        "PublishOrderConfirmed": _task(
            PUT_EVENTS,
            {
                "Entries": [
                    _event_entry(
                        t,
                        "OrderConfirmed",
                        {
                            "orderId.$": "$.data.orderId",
                            "amount.$": "$.data.amount",
                            "currency.$": "$.data.currency",
                        },
                    )
                ]
            },
            None,
        ),
        # --- compensation, in reverse ----------------------------------------------------
        "CancelShipment": compensation(undo("SHIPMENT", "CANCELLED"), "RestoreLoyaltyPoints"),
        "RestoreLoyaltyPoints": compensation(undo("LOYALTY", "RESTORED"), "RefundPayment"),
        "RefundPayment": compensation(undo("PAYMENT", "REFUNDED"), "ReleaseInventory"),
        "ReleaseInventory": {
            "Type": "Map",
            "ItemsPath": "$.data.items",
            "ItemSelector": item_selector,
            "MaxConcurrency": 1,
            "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **release_item},
            "ResultPath": None,
            "Next": "MarkCompensated",
            "Catch": _catch("MarkNeedsReview", "$.compensationFailure"),
        },
        "MarkCompensated": _task(
            UPDATE_ITEM,
            stamp(
                "META",
                "CANCELLED_COMPENSATED",
                ", failure_error = :error",
                {":error": _s("$.failure.Error")},
            ),
            "PublishOrderFailed",
            Catch=_catch("MarkNeedsReview", "$.compensationFailure"),
        ),
        "PublishOrderFailed": _task(
            PUT_EVENTS,
            {
                "Entries": [
                    _event_entry(
                        t,
                        "OrderFailed",
                        {
                            "orderId.$": "$.data.orderId",
                            "error.$": "$.failure.Error",
                        },
                    )
                ]
            },
            "ReportFailure",
            Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "ReportFailure"}],
        ),
        # The execution fails with the error that started the compensation; a Fail state
        # may not raise a `States.` error, so those get names of their own.
        "ReportFailure": {
            "Type": "Choice",
            "Choices": [
                {
                    "Variable": "$.failure.Error",
                    "StringEquals": "States.Timeout",
                    "Next": "ApprovalTimedOut",
                },
                {
                    "Variable": "$.failure.Error",
                    "StringMatches": "States.*",
                    "Next": "OrderCancelled",
                },
            ],
            "Default": "OrderCompensated",
        },
        "ApprovalTimedOut": {
            "Type": "Fail",
            "Error": "ApprovalTimedOut",
            "Cause": "No approval decision arrived in time; the order was compensated.",
        },
        "OrderCancelled": {
            "Type": "Fail",
            "Error": "OrderCompensated",
            "Cause": "The order failed and was compensated.",
        },
        "OrderCompensated": {
            "Type": "Fail",
            "ErrorPath": "$.failure.Error",
            "CausePath": "$.failure.Cause",
        },
        # --- a step that exhausted its retries: park the order for a person -------------
        "MarkNeedsReview": _task(
            UPDATE_ITEM,
            stamp("META", "NEEDS_REVIEW"),
            "NeedsReview",
        ),
        "NeedsReview": {
            "Type": "Fail",
            "Error": "NeedsReview",
            "Cause": "A step exhausted its retries; the order is parked in NEEDS_REVIEW.",
        },
    }
    return {
        "Comment": "Order fulfilment saga (opsconsole demo world)",
        "StartAt": "ValidateOrder",
        "States": states,
    }


# --- AccountClosure ----------------------------------------------------------------------


def account_closure(t: Targets) -> dict[str, Any]:
    """The closure saga: validate, approve (four eyes), anonymize, bill, delete, notify."""
    accounts = t.accounts_table

    def profile_update(
        expression: str,
        values: dict[str, Any],
        nxt: str | None,
        catch: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict:
        params: dict[str, Any] = {
            "TableName": accounts,
            "Key": _account_key("PROFILE"),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": values,
        }
        params.update(extra)
        return _task(UPDATE_ITEM, params, nxt, **({"Catch": catch} if catch else {}))

    def notice(event: str) -> dict[str, Any]:
        return {
            "event": event,
            "accountId.$": "$.data.accountId",
            "closureRequestId.$": "$$.Execution.Id",
            "correlationId.$": "$.meta.correlationId",
            "occurredAt.$": "$$.State.EnteredTime",
        }

    # Past the approval, a step that keeps failing raises the critical alert.
    critical_alert = _catch("PublishCriticalAlert")

    def guarded(resource: str, params: dict[str, Any], nxt: str | None, **extra: Any) -> dict:
        return _task(resource, params, nxt, Catch=critical_alert, **extra)

    def publish(topic_arn: str, message: dict[str, Any], nxt: str) -> dict:
        return guarded(
            SNS_PUBLISH,
            {
                "TopicArn": topic_arn,
                "Message": message,
                "MessageAttributes": _correlation_attribute(),
            },
            nxt,
        )

    states: dict[str, Any] = {
        "ValidateClosure": profile_update(
            "SET #status = :pending, closure_request_id = :exec, closure_requested_at = :at",
            {
                ":pending": {"S": "pending_deletion"},
                ":active": {"S": "active"},
                ":exec": _s("$$.Execution.Id"),
                ":at": _s("$$.State.EnteredTime"),
            },
            "AwaitClosureApproval",
            _catch("ClosureNotAllowed"),
            # The account exists and is active (not already pending_deletion or deleted).
            ConditionExpression="attribute_exists(pk) AND #status = :active",
        ),
        "ClosureNotAllowed": {
            "Type": "Fail",
            "Error": "ClosureNotAllowed",
            "Cause": "The account does not exist or is not active.",
        },
        "AwaitClosureApproval": {
            "Type": "Task",
            "Resource": SQS_SEND_WAIT,
            "TimeoutSeconds": APPROVAL_TIMEOUT_SECONDS,
            "Parameters": {
                "QueueUrl": t.closure_approvals_url,
                "MessageBody": {
                    "taskToken.$": "$$.Task.Token",
                    "accountId.$": "$.data.accountId",
                    "executionArn.$": "$$.Execution.Id",
                    "correlationId.$": "$.meta.correlationId",
                    "initiator.$": "$.meta.initiator",
                },
                "MessageAttributes": _correlation_attribute(),
            },
            "ResultPath": "$.approval",
            "Next": "AnonymizeUserData",
            "Catch": _catch("ReactivateAccount"),
        },
        "ReactivateAccount": profile_update(
            "SET #status = :active REMOVE closure_request_id",
            {":active": {"S": "active"}},
            "ClosureRejected",
        ),
        "ClosureRejected": {
            "Type": "Fail",
            "Error": "ClosureRejected",
            "Cause": "The closure was rejected or its approval timed out; the account is active.",
        },
        # PII is hashed, not deleted, so references to the account stay intact.
        "AnonymizeUserData": profile_update(
            "SET email = :email, #name = :anon, phone = :anon, anonymized_at = :at",
            {
                ":email": {"S.$": "States.Hash($.data.email, 'SHA-256')"},
                ":anon": {"S.$": "States.Hash($.data.accountId, 'SHA-256')"},
                ":at": _s("$$.State.EnteredTime"),
            },
            "HandleBilling",
            critical_alert,
            ExpressionAttributeNames={"#name": "name"},
            ConditionExpression="attribute_not_exists(legal_hold)",
        ),
        # The payment provider's outage is retried, and when the retries run out the
        # execution stops FAILED at HandleBilling (uncaught: nothing to undo, the account is
        # anonymized and stays pending_deletion), so a redrive finishes the closure once the
        # provider answers again. Every other step's failure raises the critical alert.
        "HandleBilling": _task(
            UPDATE_ITEM,
            {
                "TableName": accounts,
                "Key": _account_key("BILLING"),
                "UpdateExpression": "SET #status = :closed, closed_at = :at",
                "ConditionExpression": "attribute_not_exists(provider_error)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":closed": {"S": "closed"},
                    ":at": _s("$$.State.EnteredTime"),
                },
            },
            "DeleteResourceMetadata",
            # The payment provider's errors are retried 3 times, backoff 2.0.
            Retry=_retry(3, [CONDITION_FAILED, *TRANSIENT_ERRORS]),
        ),
        "DeleteResourceMetadata": guarded(
            DELETE_ITEM,
            {"TableName": accounts, "Key": _account_key("RESOURCES")},
            "PublishComplianceEvent",
        ),
        "PublishComplianceEvent": publish(
            t.compliance_topic_arn, notice("AccountClosed"), "SendConfirmationEmail"
        ),
        "SendConfirmationEmail": guarded(
            SQS_SEND,
            {
                "QueueUrl": t.closure_emails_url,
                "MessageBody": {
                    "template": "account-closed",
                    "to.$": "$.data.email",
                    "accountId.$": "$.data.accountId",
                    "correlationId.$": "$.meta.correlationId",
                },
                "MessageAttributes": _correlation_attribute(),
            },
            "NotifyAccounting",
        ),
        "NotifyAccounting": publish(
            t.accounting_topic_arn, notice("AccountClosedForBilling"), "MarkDeleted"
        ),
        "MarkDeleted": profile_update(
            "SET #status = :deleted, deleted_at = :at",
            {":deleted": {"S": "deleted"}, ":at": _s("$$.State.EnteredTime")},
            None,
            critical_alert,
        ),
        "PublishCriticalAlert": _task(
            SNS_PUBLISH,
            {
                "TopicArn": t.critical_alerts_topic_arn,
                "Subject": "CRITICAL: account closure failed",
                "Message": {
                    "severity": "CRITICAL",
                    "accountId.$": "$.data.accountId",
                    "closureRequestId.$": "$$.Execution.Id",
                    "correlationId.$": "$.meta.correlationId",
                    "error.$": "$.failure.Error",
                },
                "MessageAttributes": _correlation_attribute(),
            },
            "ClosureFailed",
            Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": "ClosureFailed"}],
        ),
        "ClosureFailed": {
            "Type": "Fail",
            "Error": "AccountClosureFailed",
            "CausePath": "$.failure.Cause",
        },
    }
    return {
        "Comment": "Account closure saga (opsconsole demo world)",
        "StartAt": "ValidateClosure",
        "States": states,
    }


# --- OrderIntake: OrderPlaced -> one saga per order ---------------------------------------

SFN_START = "arn:aws:states:::states:startExecution"
ALREADY_STARTED = "StepFunctions.ExecutionAlreadyExistsException"


def intake_execution_name(order_id: str, placed_at: int) -> str:
    """The saga's execution name for an order placed at `placed_at` (epoch seconds): what
    the intake workflow derives from the OrderPlaced event (and what the seeder uses)."""
    return f"order-{order_id}-{placed_at}"


def order_intake(order_state_machine_arn: str) -> dict[str, Any]:
    """Started by the orders-bus rule with the whole OrderPlaced event as input.

    An EventBridge rule can start a state machine but cannot name the execution (Step
    Functions generates a name), and the saga's name must come from the order so a replayed
    or redelivered event does not start a second saga. So the rule starts this workflow, and
    it calls StartExecution with `order-<orderId>-<placedAt>`: Step Functions refuses a name
    already used (ExecutionAlreadyExists), which ends this workflow in AlreadyStarted.
    """
    command_meta = {
        "messageType": "command",
        "commandName": "FulfilOrder",
        "schemaVersion": "1",
        "commandId.$": "$.detail.meta.eventId",
        "correlationId.$": "$.detail.meta.correlationId",
        "causationId.$": "$.detail.meta.eventId",
        "occurredAt.$": "$.detail.meta.occurredAt",
        "tenantId.$": "$.detail.meta.tenantId",
        "initiator.$": "$.detail.meta.initiator",
    }
    return {
        "Comment": "Starts one OrderFulfillment saga per OrderPlaced event (opsconsole demo)",
        "StartAt": "StartFulfilment",
        "States": {
            "StartFulfilment": {
                "Type": "Task",
                "Resource": SFN_START,
                "Parameters": {
                    "StateMachineArn": order_state_machine_arn,
                    "Name.$": (
                        "States.Format('order-{}-{}', $.detail.data.orderId, "
                        "$.detail.data.placedAt)"
                    ),
                    "Input": {
                        "meta": command_meta,
                        "data.$": "$.detail.data",
                        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                    },
                },
                "ResultSelector": {"executionArn.$": "$.ExecutionArn"},
                "Retry": _retry(),
                "Catch": [
                    {"ErrorEquals": [ALREADY_STARTED], "ResultPath": None, "Next": "AlreadyStarted"}
                ],
                "End": True,
            },
            "AlreadyStarted": {
                "Type": "Succeed",
                "Comment": "The order already has a saga: a replayed or redelivered event.",
            },
        },
    }
