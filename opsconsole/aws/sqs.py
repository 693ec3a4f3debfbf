"""SQS: queue depth and age, reading and deleting messages, DLQ redrive (message move tasks)."""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .clients import AwsEnvironment, aws_call, beyond_page_budget, client, generation
from .errors import PageBudgetSpent, QueueNotFound, none_when


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
    retention_seconds: int | None = None
    redrive_source_arns: tuple[str, ...] = ()  # every source its RedriveAllowPolicy names


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


# A queue's URL never changes while the queue exists: kept a while per name and environment
# (a job sending ten thousand messages asked GetQueueUrl once per batch: a fifth of its calls).
URL_TTL_SECONDS = 300.0
_urls: dict[tuple[int, AwsEnvironment | None, str], tuple[str, float]] = {}


def queue_url(name_or_url: str, env: AwsEnvironment | None = None) -> str | None:
    """The queue's URL (a URL is returned as is); None when the queue does not exist."""
    if name_or_url.startswith(("http://", "https://")):
        return name_or_url
    key = (generation(), env, name_or_url)
    found = _urls.get(key)
    now = time.monotonic()
    if found is not None and found[1] > now:
        return found[0]
    url = _queue_url(name_or_url, env)
    if url is not None:
        if len(_urls) > 10_000:
            _urls.clear()
        _urls[key] = (url, now + URL_TTL_SECONDS)
    return url


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
        retention_seconds=(
            int(attrs["MessageRetentionPeriod"]) if attrs.get("MessageRetentionPeriod") else None
        ),
        redrive_source_arns=tuple(sources),
    )


def _message(raw: dict[str, Any]) -> Message:
    attrs = {}
    for name, value in (raw.get("MessageAttributes") or {}).items():
        if "StringValue" in value:
            attrs[name] = str(value["StringValue"])
        elif value.get("BinaryValue") is not None:
            binary = value["BinaryValue"]
            # A binary attribute is shown, never decoded as text it may not be.
            attrs[name] = (
                "base64:"
                + base64.b64encode(
                    binary if isinstance(binary, bytes) else str(binary).encode()
                ).decode()
            )
        else:
            attrs[name] = ""
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


@dataclass(frozen=True)
class MessageToSend:
    """One entry of a batch send: `id` is the caller's (unique within the batch)."""

    id: str
    body: str
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchOutcome:
    """Per entry: the ids that succeeded (with the new MessageId for sends), and the failed
    ones with AWS's code and message. An entry is in exactly one of the two."""

    succeeded: dict[str, str]
    failed: dict[str, str]


@aws_call("CancelMessageMoveTask")
def cancel_message_move_task(handle: str, env: AwsEnvironment | None = None) -> int:
    """Cancel a running move task; return how many messages it had moved (they stay moved)."""
    response = client("sqs", env).cancel_message_move_task(TaskHandle=handle)
    return int(response.get("ApproximateNumberOfMessagesMoved", 0))


@aws_call("ListDeadLetterSourceQueues")
def dead_letter_sources(name_or_url: str, env: AwsEnvironment | None = None) -> list[str]:
    """The URLs of the queues whose redrive policy names this DLQ."""
    url = _require_url(name_or_url, env)
    paginator = client("sqs", env).get_paginator("list_dead_letter_source_queues")
    urls: list[str] = []
    for page in paginator.paginate(QueueUrl=url):
        urls.extend(page.get("queueUrls", []))
    return urls


def queue_name_of(url_or_arn: str) -> str:
    """The queue's name from its URL or ARN (both end in it)."""
    return url_or_arn.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


@aws_call("ReceiveMessage")
@dataclass(frozen=True)
class Peeked:
    messages: list[Message]
    exhausted: bool  # a receive came back empty: every visible message was read


def peek_messages(
    name_or_url: str,
    *,
    limit: int = 100,
    hold_seconds: int = 30,
    env: AwsEnvironment | None = None,
) -> list[Message]:
    """Read up to `limit` messages without consuming them (see `peek`)."""
    return peek(name_or_url, limit=limit, hold_seconds=hold_seconds, env=env).messages


def peek(
    name_or_url: str,
    *,
    limit: int = 100,
    hold_seconds: int = 30,
    env: AwsEnvironment | None = None,
) -> Peeked:
    """Read up to `limit` messages without consuming them.

    SQS has no peek: each message is received (its receive count goes up by one) and held
    invisible for `hold_seconds` while the rest are read, so no message is returned twice;
    then all are made visible again at once (ChangeMessageVisibility 0, ten a call), even
    when a page has spent its AWS time meanwhile (it then answers what it read so far).
    Should the release fail, they come back by themselves after `hold_seconds`."""
    url = _require_url(name_or_url, env)
    sqs = client("sqs", env)
    seen: dict[str, Message] = {}
    handles: list[str] = []
    exhausted = False
    try:
        while len(seen) < limit:
            try:
                response = sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=min(10, limit - len(seen)),
                    WaitTimeSeconds=0,
                    VisibilityTimeout=hold_seconds,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                )
            except PageBudgetSpent:
                if not seen:
                    raise
                break  # a slow AWS: what was read so far, said to be partial
            batch = [_message(m) for m in response.get("Messages", [])]
            if not batch:
                exhausted = True
                break
            for m in batch:
                handles.append(m.receipt_handle)
                seen.setdefault(m.message_id, m)
    finally:
        with beyond_page_budget():
            _change_visibility(sqs, url, handles, 0)
    return Peeked(list(seen.values()), exhausted)


def _change_visibility(sqs: Any, url: str, handles: list[str], seconds: int) -> list[str]:
    failed: list[str] = []
    for start in range(0, len(handles), 10):
        chunk = handles[start : start + 10]
        response = sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": seconds}
                for i, h in enumerate(chunk)
            ],
        )
        failed.extend(chunk[int(f["Id"])] for f in response.get("Failed", []))
    return failed


@aws_call("ChangeMessageVisibilityBatch")
def release_messages(
    name_or_url: str, receipt_handles: list[str], env: AwsEnvironment | None = None
) -> list[str]:
    """Make received messages visible again at once; return the handles that failed."""
    url = _require_url(name_or_url, env)
    return _change_visibility(client("sqs", env), url, list(receipt_handles), 0)


@aws_call("ReceiveMessage")
def hold_messages(
    name_or_url: str,
    *,
    hold_seconds: int,
    max_calls: int = 10,
    env: AwsEnvironment | None = None,
) -> tuple[list[Message], float]:
    """Receive up to 10 x `max_calls` messages and keep them invisible for `hold_seconds`
    (a redrive takes them); return them with the monotonic time their hold ends."""
    url = _require_url(name_or_url, env)
    sqs = client("sqs", env)
    out: list[Message] = []
    until = time.monotonic() + hold_seconds
    for _ in range(max_calls):
        response = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0,
            VisibilityTimeout=hold_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        batch = [_message(m) for m in response.get("Messages", [])]
        out.extend(batch)
        if len(batch) < 10:
            break
    return out, until


@aws_call("SendMessageBatch")
def send_message_batch(
    name_or_url: str, messages: list[MessageToSend], env: AwsEnvironment | None = None
) -> BatchOutcome:
    """Send up to 10 messages in one call; say per entry whether it was sent."""
    if not messages:
        return BatchOutcome({}, {})
    entries = []
    for m in messages:
        entry: dict[str, Any] = {"Id": m.id, "MessageBody": m.body}
        if m.attributes:
            entry["MessageAttributes"] = {
                k: {"DataType": "String", "StringValue": v} for k, v in m.attributes.items() if v
            }
        entries.append(entry)
    response = client("sqs", env).send_message_batch(
        QueueUrl=_require_url(name_or_url, env), Entries=entries
    )
    return BatchOutcome(
        succeeded={s["Id"]: s["MessageId"] for s in response.get("Successful", [])},
        failed={
            f["Id"]: f"{f.get('Code', 'Failed')}: {f.get('Message', '')}".strip(": ")
            for f in response.get("Failed", [])
        },
    )


@aws_call("DeleteMessageBatch")
def delete_message_batch(
    name_or_url: str, receipts: dict[str, str], env: AwsEnvironment | None = None
) -> BatchOutcome:
    """Delete up to 10 received messages (`receipts`: caller id -> receipt handle)."""
    if not receipts:
        return BatchOutcome({}, {})
    response = client("sqs", env).delete_message_batch(
        QueueUrl=_require_url(name_or_url, env),
        Entries=[{"Id": k, "ReceiptHandle": v} for k, v in receipts.items()],
    )
    return BatchOutcome(
        succeeded={s["Id"]: "" for s in response.get("Successful", [])},
        failed={
            f["Id"]: f"{f.get('Code', 'Failed')}: {f.get('Message', '')}".strip(": ")
            for f in response.get("Failed", [])
        },
    )
