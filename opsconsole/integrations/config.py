"""The `notification_channels` section of the configuration file.

A channel is a named destination of one type: `email` (SMTP to a list of addresses), `sns`
(publish to a topic through the AWS gateway), `webhook` (POST the event envelope to a fixed
URL, e.g. a chat's incoming webhook) or `servicenow` (the ServiceNow preset: incidents for
alerts, work notes for console actions on sagas with a ticket). Alert rules name the
channels their events go to; `events` routes other event types to a channel as well.

    notification_channels:
      - name: ops-mail
        type: email
        to: [oncall@example.com]
      - name: servicenow
        type: servicenow
        assignment_group: Payments Operations
        cmdb_ci: order-fulfilment
        events: [saga.redriven, saga.stopped]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opsconsole.events import EVENT_TYPES
from opsconsole.registry import Fields, Invalid, Registry, Section, named_entries

CHANNEL_TYPES = ("email", "sns", "webhook", "servicenow")


@dataclass(frozen=True)
class Channel:
    name: str
    type: str
    events: tuple[str, ...] = ()
    # email
    to: tuple[str, ...] = ()
    # sns
    topic_arn: str = ""
    environment: str = ""
    # webhook
    url: str = ""
    # servicenow
    assignment_group: str = ""
    cmdb_ci: str = ""
    caller_id: str = ""
    close_code: str = "Solved (Permanently)"
    extra: dict[str, str] = field(default_factory=dict)


def _channel(s: Fields, name: str, registry: Registry) -> Channel:
    kind = s.choice("type", CHANNEL_TYPES)
    events = tuple(s.str_list("events"))
    for i, event_type in enumerate(events):
        if event_type not in EVENT_TYPES:
            raise Invalid(
                s.line_of("events"), f"{s.where}.events[{i}]", f"unknown event type {event_type!r}"
            )
    if kind == "email":
        to = tuple(s.str_list("to"))
        if not to:
            raise Invalid(s.line_of("to"), f"{s.where}.to", "an email channel needs addresses")
        for i, address in enumerate(to):
            if "@" not in address:
                raise Invalid(s.line_of("to"), f"{s.where}.to[{i}]", "is not an email address")
        return Channel(name=name, type=kind, events=events, to=to)
    if kind == "sns":
        topic = s.text("topic_arn")
        if not topic.startswith("arn:"):
            raise Invalid(s.line_of("topic_arn"), f"{s.where}.topic_arn", "must be a topic ARN")
        environment = s.text("environment", required=False) or ""
        if environment and environment not in registry.environments:
            raise Invalid(
                s.line_of("environment"),
                f"{s.where}.environment",
                f"no environment named {environment!r}",
            )
        return Channel(
            name=name, type=kind, events=events, topic_arn=topic, environment=environment
        )
    if kind == "webhook":
        url = s.text("url")
        if not url.startswith(("http://", "https://")):
            raise Invalid(s.line_of("url"), f"{s.where}.url", "must be an http(s) URL")
        return Channel(name=name, type=kind, events=events, url=url)
    return Channel(
        name=name,
        type=kind,
        events=events,
        assignment_group=s.text("assignment_group", ""),
        cmdb_ci=s.text("cmdb_ci", ""),
        caller_id=s.text("caller_id", ""),
        close_code=s.text("close_code", "Solved (Permanently)"),
    )


def channels(registry: Registry) -> dict[str, Channel]:
    return {c.name: c for c in registry.section("notification_channels")}


SECTIONS = [Section("notification_channels", named_entries(_channel), order=45)]
