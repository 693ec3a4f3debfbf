"""SQS: queue depth and age, reading and deleting messages, DLQ redrive (message move tasks)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .clients import AwsEnvironment, aws_call, client
from .errors import QueueNotFound, none_when


@dataclass(frozen=True)
class QueueStats:
    url: str
    arn: str
    visible: int
    in_flight: int
    delayed: int
    redrive_source_arn: str | None = None  # for a DLQ: the queue it serves (from its policy)
    max_receive_count: int | None = None
    dead_letter_target_arn: str | None = None


@dataclass(frozen=True)
class Message:
    message_id: str
    receipt_handle: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)
    message_attributes: dict[str, str] = field(default_factory=dict)

    @property
    def sent_at(self) -> datetime | None:
        raw = self.attributes.get("SentTimestamp")
        return datetime.fromtimestamp(int(raw) / 1000, tz=UTC) if raw else None

    @property
    def receive_count(self) -> int:
        return int(self.attributes.get("ApproximateReceiveCount", "0"))


@dataclass(frozen=True)
class MoveTask:
    handle: str | None
    status: str
    source_arn: str
    destination_arn: str | None
    moved: int
    to_move: int | None
    started_at: datetime | None
    failure_reason: str | None = None


@none_when(QueueNotFound)
@aws_call("GetQueueUrl")
def _queue_url(name: str, env: AwsEnvironment | None) -> str:
    return str(client("sqs", env).get_queue_url(QueueName=name)["QueueUrl"])


def queue_url(name_or_url: str, env: AwsEnvironment | None = None) -> str | None:
    """The queue's URL (a URL is returned as is); None when the queue does not exist."""
    if name_or_url.startswith(("http://", "https://")):
        return name_or_url
    return _queue_url(name_or_url, env)


def _require_url(name_or_url: str, env: AwsEnvironment | None) -> str:
    url = queue_url(name_or_url, env)
    if url is None:
        raise QueueNotFound(f"queue {name_or_url} does not exist")
    return url


@aws_call("GetQueueAttributes")
def queue_stats(name_or_url: str, env: AwsEnvironment | None = None) -> QueueStats:
    """Depth, in-flight count and redrive configuration of a queue."""
    url = _require_url(name_or_url, env)
    attrs = client("sqs", env).get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
        "Attributes"
    ]
    redrive = json.loads(attrs["RedrivePolicy"]) if attrs.get("RedrivePolicy") else {}
    allow = json.loads(attrs["RedriveAllowPolicy"]) if attrs.get("RedriveAllowPolicy") else {}
    sources = allow.get("sourceQueueArns") or []
    return QueueStats(
        url=url,
        arn=attrs["QueueArn"],
        visible=int(attrs.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
        redrive_source_arn=sources[0] if sources else None,
        max_receive_count=int(redrive["maxReceiveCount"]) if redrive else None,
        dead_letter_target_arn=redrive.get("deadLetterTargetArn"),
    )


def _message(raw: dict[str, Any]) -> Message:
    attrs = {}
    for name, value in (raw.get("MessageAttributes") or {}).items():
        attrs[name] = value.get("StringValue") or value.get("BinaryValue") or ""
    return Message(
        message_id=raw["MessageId"],
        receipt_handle=raw["ReceiptHandle"],
        body=raw.get("Body", ""),
        attributes=dict(raw.get("Attributes") or {}),
        message_attributes=attrs,
    )


@aws_call("ReceiveMessage")
def receive_messages(
    name_or_url: str,
    *,
    max_messages: int = 10,
    wait_seconds: int = 0,
    visibility_timeout: int | None = None,
    env: AwsEnvironment | None = None,
) -> list[Message]:
    """Receive up to `max_messages` (at most 10) messages; they stay until deleted."""
    kwargs: dict[str, Any] = {
        "QueueUrl": _require_url(name_or_url, env),
        "MaxNumberOfMessages": min(max(max_messages, 1), 10),
        "WaitTimeSeconds": wait_seconds,
        "AttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    if visibility_timeout is not None:
        kwargs["VisibilityTimeout"] = visibility_timeout
    response = client("sqs", env).receive_message(**kwargs)
    return [_message(m) for m in response.get("Messages", [])]


@aws_call("DeleteMessage")
def delete_message(
    name_or_url: str, receipt_handle: str, env: AwsEnvironment | None = None
) -> None:
    """Delete one received message."""
    client("sqs", env).delete_message(
        QueueUrl=_require_url(name_or_url, env), ReceiptHandle=receipt_handle
    )


@aws_call("DeleteMessageBatch")
def delete_messages(
    name_or_url: str, receipt_handles: list[str], env: AwsEnvironment | None = None
) -> int:
    """Delete received messages, ten a call; how many were deleted."""
    url = _require_url(name_or_url, env)
    sqs = client("sqs", env)
    deleted = 0
    for start in range(0, len(receipt_handles), 10):
        batch = receipt_handles[start : start + 10]
        answer = sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(batch)],
        )
        deleted += len(answer.get("Successful", []))
    return deleted


@aws_call("ChangeMessageVisibility")
def release_message(
    name_or_url: str, receipt_handle: str, env: AwsEnvironment | None = None
) -> None:
    """Make a received message visible again at once (we only looked at it)."""
    client("sqs", env).change_message_visibility(
        QueueUrl=_require_url(name_or_url, env), ReceiptHandle=receipt_handle, VisibilityTimeout=0
    )


@aws_call("SendMessage")
def send_message(
    name_or_url: str,
    body: str,
    *,
    attributes: dict[str, str] | None = None,
    env: AwsEnvironment | None = None,
) -> str:
    """Send a message with string attributes; return its MessageId."""
    kwargs: dict[str, Any] = {"QueueUrl": _require_url(name_or_url, env), "MessageBody": body}
    if attributes:
        kwargs["MessageAttributes"] = {
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        }
    return str(client("sqs", env).send_message(**kwargs)["MessageId"])


@aws_call("StartMessageMoveTask")
def start_message_move_task(
    source_arn: str,
    destination_arn: str | None = None,
    max_per_second: int | None = None,
    env: AwsEnvironment | None = None,
) -> str:
    """Move a DLQ's messages back to their source (or `destination_arn`); return the handle."""
    kwargs: dict[str, Any] = {"SourceArn": source_arn}
    if destination_arn:
        kwargs["DestinationArn"] = destination_arn
    if max_per_second:
        kwargs["MaxNumberOfMessagesPerSecond"] = max_per_second
    return str(client("sqs", env).start_message_move_task(**kwargs)["TaskHandle"])


@aws_call("ListMessageMoveTasks")
def list_message_move_tasks(source_arn: str, env: AwsEnvironment | None = None) -> list[MoveTask]:
    """The recent move tasks of a DLQ, newest first."""
    results = client("sqs", env).list_message_move_tasks(SourceArn=source_arn, MaxResults=10)
    return [
        MoveTask(
            handle=r.get("TaskHandle"),
            status=r.get("Status", "UNKNOWN"),
            source_arn=r.get("SourceArn", source_arn),
            destination_arn=r.get("DestinationArn"),
            moved=int(r.get("ApproximateNumberOfMessagesMoved", 0)),
            to_move=r.get("ApproximateNumberOfMessagesToMove"),
            started_at=(
                datetime.fromtimestamp(int(r["StartedTimestamp"]) / 1000, tz=UTC)
                if r.get("StartedTimestamp")
                else None
            ),
            failure_reason=r.get("FailureReason"),
        )
        for r in results.get("Results", [])
    ]
