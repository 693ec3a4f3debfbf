"""Creating resources idempotently (tables, queues, buses, rules, archives, topics) and bulk
writes. The embedded demo world builds itself through these; the console never does."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from .clients import AwsEnvironment, aws_call, client
from .dynamodb import serialize

SQS_BATCH = 10  # SendMessageBatch's maximum entries a call
DYNAMODB_BATCH = 25  # BatchWriteItem's maximum


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str


@dataclass(frozen=True)
class OutgoingMessage:
    body: str
    attributes: tuple[tuple[str, str], ...] = ()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _existing(describe: Callable[[], Any]) -> str | None:
    """What `describe` answers (an ARN), or None when the resource does not exist yet."""
    try:
        return str(describe())
    except ClientError as exc:
        if _code(exc) != "ResourceNotFoundException":
            raise
    return None


@aws_call("CreateTable")
def ensure_table(
    name: str, pk: str, sk: str | None = None, env: AwsEnvironment | None = None
) -> str:
    """Create an on-demand table with string keys unless it exists; return its ARN."""
    ddb = client("dynamodb", env)
    arn = _existing(lambda: ddb.describe_table(TableName=name)["Table"]["TableArn"])
    if arn is not None:
        return arn
    keys = [{"AttributeName": pk, "KeyType": "HASH"}]
    attrs = [{"AttributeName": pk, "AttributeType": "S"}]
    if sk:
        keys.append({"AttributeName": sk, "KeyType": "RANGE"})
        attrs.append({"AttributeName": sk, "AttributeType": "S"})
    table = ddb.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST"
    )
    return str(table["TableDescription"]["TableArn"])


@aws_call("BatchWriteItem")
def batch_put_items(
    table: str, items: list[dict[str, Any]], env: AwsEnvironment | None = None
) -> None:
    """Write many items (plain values), 25 a call, retrying unprocessed ones."""
    ddb = client("dynamodb", env)
    for start in range(0, len(items), DYNAMODB_BATCH):
        request: dict[str, Any] = {
            table: [
                {"PutRequest": {"Item": serialize(i)}}
                for i in items[start : start + DYNAMODB_BATCH]
            ]
        }
        while request:
            response = ddb.batch_write_item(RequestItems=request)
            request = response.get("UnprocessedItems") or {}


@aws_call("CreateQueue")
def ensure_queue(
    name: str, attributes: dict[str, str] | None = None, env: AwsEnvironment | None = None
) -> Queue:
    """Create a queue (or update its attributes when it exists); return its URL and ARN."""
    sqs = client("sqs", env)
    attributes = attributes or {}
    try:
        url = str(sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"])
    except ClientError as exc:
        if _code(exc) not in {"QueueAlreadyExists", "QueueNameExists"}:
            raise
        url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
        if attributes:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Queue(name=name, url=url, arn=str(arn))


@aws_call("SetQueueAttributes")
def set_queue_attributes(url: str, attributes: dict[str, str], env: AwsEnvironment | None = None):
    """Change a queue's attributes (redrive policy, retention...)."""
    client("sqs", env).set_queue_attributes(QueueUrl=url, Attributes=attributes)


def redrive_attributes(dlq_arn: str, max_receive_count: int) -> dict[str, str]:
    """The source queue's RedrivePolicy pointing at `dlq_arn`."""
    return {
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}
        )
    }


def redrive_allow_attributes(source_arns: list[str]) -> dict[str, str]:
    """The DLQ's RedriveAllowPolicy naming the queues it serves."""
    return {
        "RedriveAllowPolicy": json.dumps(
            {"redrivePermission": "byQueue", "sourceQueueArns": source_arns}
        )
    }


@aws_call("SendMessageBatch")
def send_messages(
    url: str, messages: list[OutgoingMessage], env: AwsEnvironment | None = None
) -> int:
    """Send messages 10 a call (each batch under the 256 KB limit); return how many failed."""
    sqs = client("sqs", env)
    failed = 0
    batch: list[dict[str, Any]] = []
    size = 0

    def flush() -> int:
        if not batch:
            return 0
        response = sqs.send_message_batch(QueueUrl=url, Entries=list(batch))
        batch.clear()
        return len(response.get("Failed", []))

    for index, message in enumerate(messages):
        entry: dict[str, Any] = {"Id": str(index), "MessageBody": message.body}
        if message.attributes:
            entry["MessageAttributes"] = {
                k: {"DataType": "String", "StringValue": v} for k, v in message.attributes
            }
        entry_size = len(message.body.encode()) + sum(
            len(k) + len(v) for k, v in message.attributes
        )
        if batch and (len(batch) == SQS_BATCH or size + entry_size > 250_000):
            failed += flush()
            size = 0
        batch.append(entry)
        size += entry_size
    return failed + flush()


@aws_call("CreateEventBus")
def ensure_event_bus(name: str, env: AwsEnvironment | None = None) -> str:
    """Create a custom event bus unless it exists; return its ARN."""
    events = client("events", env)
    return _existing(lambda: events.describe_event_bus(Name=name)["Arn"]) or str(
        events.create_event_bus(Name=name)["EventBusArn"]
    )


@aws_call("PutRule")
def ensure_rule(
    name: str,
    bus: str,
    pattern: dict[str, Any],
    targets: list[dict[str, Any]],
    env: AwsEnvironment | None = None,
    state: str = "ENABLED",
) -> str:
    """Create or update a rule on `bus` with its targets; return the rule's ARN."""
    events = client("events", env)
    arn = events.put_rule(
        Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State=state
    )["RuleArn"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
    return str(arn)


@aws_call("CreateArchive")
def ensure_archive(
    name: str,
    bus_arn: str,
    retention_days: int,
    description: str = "",
    env: AwsEnvironment | None = None,
) -> str:
    """Archive every event on a bus unless the archive exists; return its ARN."""
    events = client("events", env)
    return _existing(lambda: events.describe_archive(ArchiveName=name)["ArchiveArn"]) or str(
        events.create_archive(
            ArchiveName=name,
            EventSourceArn=bus_arn,
            Description=description,
            RetentionDays=retention_days,
        )["ArchiveArn"]
    )


@aws_call("CreateTopic")
def ensure_topic(name: str, env: AwsEnvironment | None = None) -> str:
    """Create a topic (idempotent by name); return its ARN."""
    return str(client("sns", env).create_topic(Name=name)["TopicArn"])


@aws_call("Subscribe")
def subscribe_queue(topic_arn: str, queue_arn: str, env: AwsEnvironment | None = None) -> str:
    """Deliver a topic's messages to an SQS queue (raw); return the subscription ARN."""
    result = client("sns", env).subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )
    return str(result["SubscriptionArn"])


@aws_call("DeleteMessageBatch")
def delete_messages(url: str, receipt_handles: list[str], env: AwsEnvironment | None = None) -> int:
    """Delete received messages, 10 a call; return how many could not be deleted."""
    sqs = client("sqs", env)
    failed = 0
    for start in range(0, len(receipt_handles), SQS_BATCH):
        entries = [
            {"Id": str(i), "ReceiptHandle": handle}
            for i, handle in enumerate(receipt_handles[start : start + SQS_BATCH])
        ]
        failed += len(sqs.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed", []))
    return failed
