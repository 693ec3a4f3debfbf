"""The demo world's resources, created idempotently in the current AWS endpoint.

In the tests that is in-process moto (the `aws` fixture); under `make demo` it is the moto
server. Every name matches config/demo.yaml. Everything goes through the gateways in
opsconsole/aws/ (this package never imports boto3).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opsconsole.aws import dynamodb, provisioning, stepfunctions

from . import asl

ORDERS_TABLE = "orders"
INVENTORY_TABLE = "inventory"
ACCOUNTS_TABLE = "accounts"
ORDERS_BUS = "orders-bus"
ORDER_EVENTS_RULE = "order-events-to-warehouse"
ORDERS_ARCHIVE = "orders-archive"
ORDER_STATE_MACHINE = "OrderFulfillment"
# OrderPlaced on orders-bus -> this rule -> OrderIntake -> one OrderFulfillment per order.
ORDER_PLACED_RULE = "order-placed-starts-fulfilment"
ORDER_INTAKE_STATE_MACHINE = "OrderIntake"
CLOSURE_STATE_MACHINE = "AccountClosure"
# Step Functions in the emulator does not check the role; a real account needs one.
STATE_MACHINE_ROLE = "arn:aws:iam::123456789012:role/opsconsole-demo-states"

DLQ_RETENTION_SECONDS = str(14 * 24 * 3600)  # the maximum: a DLQ is evidence
# work queue -> (its DLQ, maxReceiveCount)
WORK_QUEUES: dict[str, tuple[str, int]] = {
    "payments": ("payments-dlq", 3),
    "shipments": ("shipments-dlq", 3),
    "closure-emails": ("closure-emails-dlq", 3),
}
APPROVAL_QUEUES = ("order-approvals", "closure-approvals")
RULE_TARGET_QUEUE = "order-events"
RULE_DLQ = "order-events-rule-dlq"
# Step Functions status change events of both state machines, for the console's sync
# (config/demo.yaml saga_sync): a rule on the default bus and the queue it targets.
STATUS_EVENTS_RULE = "opsconsole-sfn-status"
STATUS_EVENTS_QUEUE = "opsconsole-sfn-status"
# Lambda's dead letters: an async DLQ and an on-failure destination (queue -> function).
LAMBDA_ASYNC_DLQ = "notify-customer-dlq"
LAMBDA_FAILURE_DESTINATION = "loyalty-failures"
LAMBDA_FUNCTIONS = {LAMBDA_ASYNC_DLQ: "notify-customer", LAMBDA_FAILURE_DESTINATION: "burn-loyalty"}
TOPICS = ("order-notifications", "critical-alerts", "compliance-events", "accounting")

# SKU -> (name, price, stock). LAMP-07 is the low-stock one (orders for more go short).
INVENTORY: dict[str, tuple[str, float, int]] = {
    "MUG-01": ("Enamel mug", 12.5, 1_000_000),
    "KB-ERGO": ("Ergonomic keyboard", 149.0, 1_000_000),
    "CHAIR-9": ("Office chair", 649.0, 1_000_000),
    "DESK-OAK": ("Oak standing desk", 1890.0, 1_000_000),
    "LAMP-07": ("Desk lamp (last few)", 39.0, 2),
}
LOW_STOCK_SKU = "LAMP-07"


@dataclass(frozen=True)
class World:
    """The ARNs/URLs of what `build()` created."""

    order_state_machine_arn: str
    closure_state_machine_arn: str
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)
    bus_arn: str = ""
    rule_arn: str = ""
    archive_arn: str = ""
    intake_state_machine_arn: str = ""
    order_placed_rule_arn: str = ""


def _queues() -> tuple[dict[str, str], dict[str, str]]:
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}

    def add(name: str, attributes: dict[str, str] | None = None) -> None:
        queue = provisioning.ensure_queue(name, attributes)
        urls[name], arns[name] = queue.url, queue.arn

    for name in APPROVAL_QUEUES:
        add(name)
    for source, (dlq, max_receives) in WORK_QUEUES.items():
        add(dlq, {"MessageRetentionPeriod": DLQ_RETENTION_SECONDS})
        add(source, provisioning.redrive_attributes(arns[dlq], max_receives))
        provisioning.set_queue_attributes(
            urls[dlq], provisioning.redrive_allow_attributes([arns[source]])
        )
    add(RULE_DLQ, {"MessageRetentionPeriod": DLQ_RETENTION_SECONDS})
    for name in LAMBDA_FUNCTIONS:
        add(name, {"MessageRetentionPeriod": DLQ_RETENTION_SECONDS})
    add(RULE_TARGET_QUEUE)
    add(STATUS_EVENTS_QUEUE)
    return urls, arns


def _seed_reference_data() -> None:
    """Stock per SKU and the courier slot that is closed; only where missing (idempotent)."""
    for sku, (name, price, stock) in INVENTORY.items():
        key = {"pk": f"SKU#{sku}"}
        if dynamodb.get_item(INVENTORY_TABLE, key) is None:
            dynamodb.put_item(
                INVENTORY_TABLE, {**key, "sku": sku, "name": name, "price": price, "stock": stock}
            )
    dynamodb.put_item(
        INVENTORY_TABLE,
        {
            "pk": f"SLOT#{asl.NO_SLOT_POSTCODE}",
            "closed": True,
            "reason": "courier has no capacity for this postcode",
        },
    )


def build() -> World:
    """Create every resource of the demo world (safe to call again) and return their ids."""
    provisioning.ensure_table(ORDERS_TABLE, "pk", "sk")
    provisioning.ensure_table(INVENTORY_TABLE, "pk")
    provisioning.ensure_table(ACCOUNTS_TABLE, "pk", "sk")
    _seed_reference_data()

    urls, arns = _queues()
    topics = {name: provisioning.ensure_topic(name) for name in TOPICS}

    bus_arn = provisioning.ensure_event_bus(ORDERS_BUS)
    rule_arn = provisioning.ensure_rule(
        ORDER_EVENTS_RULE,
        ORDERS_BUS,
        {"source": [asl.EVENT_SOURCE]},
        [
            {
                "Id": "warehouse-queue",
                "Arn": arns[RULE_TARGET_QUEUE],
                "DeadLetterConfig": {"Arn": arns[RULE_DLQ]},
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            }
        ],
    )
    archive_arn = provisioning.ensure_archive(
        ORDERS_ARCHIVE, bus_arn, 30, "Every event on orders-bus, kept 30 days."
    )

    targets = asl.Targets(
        orders_table=ORDERS_TABLE,
        inventory_table=INVENTORY_TABLE,
        accounts_table=ACCOUNTS_TABLE,
        order_approvals_url=urls["order-approvals"],
        closure_approvals_url=urls["closure-approvals"],
        shipments_url=urls["shipments"],
        closure_emails_url=urls["closure-emails"],
        orders_bus=ORDERS_BUS,
        compliance_topic_arn=topics["compliance-events"],
        accounting_topic_arn=topics["accounting"],
        critical_alerts_topic_arn=topics["critical-alerts"],
    )
    order_arn = stepfunctions.ensure_state_machine(
        ORDER_STATE_MACHINE, asl.order_fulfillment(targets), STATE_MACHINE_ROLE
    )
    closure_arn = stepfunctions.ensure_state_machine(
        CLOSURE_STATE_MACHINE, asl.account_closure(targets), STATE_MACHINE_ROLE
    )
    intake_arn = stepfunctions.ensure_state_machine(
        ORDER_INTAKE_STATE_MACHINE, asl.order_intake(order_arn), STATE_MACHINE_ROLE
    )
    placed_rule_arn = ensure_order_placed_rule(intake_arn, arns[RULE_DLQ])
    provisioning.ensure_rule(
        STATUS_EVENTS_RULE,
        "default",
        {
            "source": ["aws.states"],
            "detail-type": ["Step Functions Execution Status Change"],
            "detail": {"stateMachineArn": [order_arn, closure_arn]},
        },
        [{"Id": "opsconsole-sync", "Arn": arns[STATUS_EVENTS_QUEUE]}],
    )
    return World(
        order_state_machine_arn=order_arn,
        closure_state_machine_arn=closure_arn,
        queue_urls=urls,
        queue_arns=arns,
        topic_arns=topics,
        bus_arn=bus_arn,
        rule_arn=rule_arn,
        archive_arn=archive_arn,
        intake_state_machine_arn=intake_arn,
        order_placed_rule_arn=placed_rule_arn,
    )


def ensure_order_placed_rule(intake_arn: str, dlq_arn: str, *, enabled: bool = True) -> str:
    """The rule a real order system has: each OrderPlaced on orders-bus starts the intake
    workflow (which starts the order's saga once); undeliverable events go to the rule DLQ.
    `enabled=False` is the seeder's "intake outage" (events archived, no saga started)."""
    return provisioning.ensure_rule(
        ORDER_PLACED_RULE,
        ORDERS_BUS,
        {"source": [asl.EVENT_SOURCE], "detail-type": ["OrderPlaced"]},
        [
            {
                "Id": "order-intake",
                "Arn": intake_arn,
                "RoleArn": STATE_MACHINE_ROLE,
                "DeadLetterConfig": {"Arn": dlq_arn},
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            }
        ],
        state="ENABLED" if enabled else "DISABLED",
    )
