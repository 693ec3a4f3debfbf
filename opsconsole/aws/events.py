"""EventBridge: publishing events, archives and replays."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .clients import AwsEnvironment, aws_call, client
from .errors import ResourceNotFound, none_when

PUT_EVENTS_BATCH = 10  # the API's maximum entries a call


@dataclass(frozen=True)
class Archive:
    name: str
    arn: str
    source_arn: str
    state: str
    event_count: int
    size_bytes: int
    retention_days: int | None


@dataclass(frozen=True)
class Replay:
    name: str
    arn: str | None
    state: str
    reason: str | None
    archive_arn: str | None
    start: datetime | None
    end: datetime | None
    replay_started: datetime | None = None
    replay_ended: datetime | None = None


@aws_call("PutEvents")
def put_events(
    bus: str,
    source: str,
    detail_type: str,
    details: list[dict[str, Any]],
    env: AwsEnvironment | None = None,
) -> int:
    """Publish events in batches of 10; return how many failed."""
    events = client("events", env)
    failed = 0
    for start in range(0, len(details), PUT_EVENTS_BATCH):
        entries = [
            {
                "EventBusName": bus,
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps(d),
            }
            for d in details[start : start + PUT_EVENTS_BATCH]
        ]
        failed += int(events.put_events(Entries=entries).get("FailedEntryCount", 0))
    return failed


def _archive(raw: dict[str, Any]) -> Archive:
    return Archive(
        name=raw["ArchiveName"],
        arn=raw.get("ArchiveArn", ""),
        source_arn=raw.get("EventSourceArn", ""),
        state=raw.get("State", "UNKNOWN"),
        event_count=int(raw.get("EventCount", 0)),
        size_bytes=int(raw.get("SizeBytes", 0)),
        retention_days=raw.get("RetentionDays"),
    )


@aws_call("ListArchives")
def list_archives(env: AwsEnvironment | None = None) -> list[Archive]:
    """Every event archive in the environment."""
    events = client("events", env)
    archives: list[Archive] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = events.list_archives(**kwargs)
        archives.extend(_archive(a) for a in page.get("Archives", []))
        if not page.get("NextToken"):
            return archives
        kwargs["NextToken"] = page["NextToken"]


@none_when(ResourceNotFound)
@aws_call("DescribeArchive")
def describe_archive(name: str, env: AwsEnvironment | None = None) -> Archive:
    """One archive, or None when it does not exist."""
    return _archive(client("events", env).describe_archive(ArchiveName=name))


@aws_call("StartReplay")
def start_replay(
    name: str,
    archive_arn: str,
    destination_bus_arn: str,
    start: datetime,
    end: datetime,
    rule_arns: list[str] | None = None,
    env: AwsEnvironment | None = None,
) -> Replay:
    """Replay an archive's events from [start, end) to a bus (every matching rule fires again)."""
    destination: dict[str, Any] = {"Arn": destination_bus_arn}
    if rule_arns:
        destination["FilterArns"] = rule_arns
    r = client("events", env).start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination=destination,
    )
    return Replay(
        name=name,
        arn=r.get("ReplayArn"),
        state=r.get("State", "STARTING"),
        reason=r.get("StateReason"),
        archive_arn=archive_arn,
        start=start,
        end=end,
        replay_started=r.get("ReplayStartTime"),
    )


@aws_call("DescribeReplay")
def describe_replay(name: str, env: AwsEnvironment | None = None) -> Replay:
    """The state of one replay."""
    r = client("events", env).describe_replay(ReplayName=name)
    return Replay(
        name=r["ReplayName"],
        arn=r.get("ReplayArn"),
        state=r.get("State", "UNKNOWN"),
        reason=r.get("StateReason"),
        archive_arn=r.get("EventSourceArn"),
        start=r.get("EventStartTime"),
        end=r.get("EventEndTime"),
        replay_started=r.get("ReplayStartTime"),
        replay_ended=r.get("ReplayEndTime"),
    )


@dataclass(frozen=True)
class PutOutcome:
    """Per entry, in the order given: the new event id, or AWS's error code and message."""

    event_ids: list[str | None]
    errors: list[str | None]


@aws_call("PutEvents")
def put_entries(
    bus: str, entries: list[dict[str, Any]], env: AwsEnvironment | None = None
) -> PutOutcome:
    """Put up to 10 prepared entries (Source, DetailType, Detail, Resources) on `bus` again."""
    request = [{**e, "EventBusName": bus} for e in entries[:PUT_EVENTS_BATCH]]
    response = client("events", env).put_events(Entries=request)
    ids: list[str | None] = []
    errors: list[str | None] = []
    for result in response.get("Entries", []):
        ids.append(result.get("EventId"))
        code = result.get("ErrorCode")
        errors.append(f"{code}: {result.get('ErrorMessage', '')}" if code else None)
    return PutOutcome(ids, errors)
