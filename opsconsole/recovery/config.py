"""The `dlqs` and `archives` sections of the configuration file: what recovery works on."""

from __future__ import annotations

from dataclasses import dataclass

from opsconsole.registry import Fields, Registry, Section, named_entries
from sagas.config import known_kind

DLQ_MECHANISMS = ("sqs_redrive", "eventbridge_rule", "lambda_async", "lambda_destination")


@dataclass(frozen=True)
class DeadLetterQueue:
    name: str
    queue: str
    mechanism: str
    source: str | None  # queue, rule or function it catches for
    kind: str | None
    description: str = ""


@dataclass(frozen=True)
class EventArchive:
    name: str
    archive: str
    bus: str
    description: str = ""


def _dlq(s: Fields, name: str, registry: Registry) -> DeadLetterQueue:
    return DeadLetterQueue(
        name=name,
        queue=s.text("queue"),
        mechanism=s.choice("mechanism", DLQ_MECHANISMS, "sqs_redrive"),
        source=s.text("source", required=False),
        kind=known_kind(s, "kind", registry, required=False),
        description=s.text("description", "", required=False) or "",
    )


def _archive(s: Fields, name: str, registry: Registry) -> EventArchive:
    return EventArchive(
        name=name,
        archive=s.text("archive"),
        bus=s.text("bus"),
        description=s.text("description", "", required=False) or "",
    )


def dlqs(registry: Registry) -> tuple[DeadLetterQueue, ...]:
    return registry.section("dlqs")


def archives(registry: Registry) -> tuple[EventArchive, ...]:
    return registry.section("archives")


SECTIONS = [
    Section("dlqs", named_entries(_dlq), order=30),
    Section("archives", named_entries(_archive), order=40),
]
