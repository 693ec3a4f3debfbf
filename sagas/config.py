"""The `saga_kinds` section of the configuration file: what a saga of each kind looks like."""

from __future__ import annotations

import re
from dataclasses import dataclass

from opsconsole.registry import Fields, Invalid, Registry, SagaKind, Section, unique

_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def parse_saga_kinds(entries: list[Fields], registry: Registry, line: int) -> dict[str, SagaKind]:
    environments = registry.environments
    kinds: dict[str, SagaKind] = {}
    kind_lines: dict[str, int] = {}
    for s in entries:
        key = s.text("key")
        if not _NAME_RE.match(key):
            raise Invalid(
                s.line_of("key"),
                f"{s.where}.key",
                "must be lower-case letters, digits, - or _ (a URL segment)",
            )
        unique(key, kind_lines, s, "key")
        env = s.text("environment")
        if env not in environments:
            raise Invalid(
                s.line_of("environment"),
                f"{s.where}.environment",
                f"unknown environment {env!r} (known: {', '.join(environments)})",
            )
        table = s.text("table", required=False)
        template = s.text("key_template", None if table else "{key}")
        if "{key}" not in template:
            raise Invalid(
                s.line_of("key_template"),
                f"{s.where}.key_template",
                "must contain {key}, e.g. ORDER#{key}",
            )
        sla = s.mapping("step_sla_seconds")
        step_sla: dict[str, int] = {}
        for step, n in sla.items():
            if isinstance(n.value, bool) or not isinstance(n.value, int) or n.value <= 0:
                raise Invalid(
                    n.line,
                    f"{s.where}.step_sla_seconds.{step}",
                    f"must be a positive integer of seconds, got {n.value!r}",
                )
            step_sla[step] = n.value
        steps = s.str_list("steps")
        compensation = frozenset(s.str_list("compensation_steps"))
        notification = frozenset(s.str_list("notification_steps"))
        both = sorted(compensation & notification)
        if both:
            raise Invalid(
                s.line_of("notification_steps"),
                f"{s.where}.notification_steps",
                f"{both[0]!r} is also a compensation step: a step either undoes or tells",
            )
        status_items = tuple(s.str_list("status_item_keys")) or ("META", "PROFILE")
        kinds[key] = SagaKind(
            key=key,
            label=s.text("label"),
            singular=s.text("singular", key.rstrip("s")),
            environment=env,
            state_machine=s.text("state_machine"),
            business_key_path=s.path("business_key"),
            correlation_id_path=s.path("correlation_id"),
            initiator_path=s.path("initiator"),
            table=table,
            pk_attribute=s.text("pk_attribute", "pk"),
            key_template=template,
            status_attribute=s.text("status_attribute", "status"),
            steps=tuple(steps),
            compensation_steps=compensation,
            notification_steps=notification,
            approval_steps=frozenset(s.str_list("approval_steps")),
            step_sla_seconds=step_sla,
            default_step_sla_seconds=s.integer("default_step_sla_seconds", 300, minimum=1),
            saga_sla_seconds=s.integer("saga_sla_seconds", None, minimum=1),
            sensitive_fields=tuple(s.str_list("sensitive_fields")),
            four_eyes=s.flag("four_eyes", False),
            ticket_path=s.path("ticket", required=False),
            amount_path=s.path("amount", required=False),
            currency_path=s.path("currency", required=False),
            sort_key_attribute=s.text("sort_key_attribute", "sk"),
            status_item_keys=status_items,
        )
        s.done()
    if not kinds:
        raise Invalid(line, "saga_kinds", "at least one is required")
    return kinds


def known_kind(s: Fields, key: str, registry: Registry, *, required: bool = True) -> str | None:
    """A field naming a saga kind, for sections parsed after saga_kinds."""
    value = s.text(key, required=required)
    if value is not None and value not in registry.kinds:
        raise Invalid(
            s.line_of(key),
            f"{s.where}.{key}",
            f"unknown saga kind {value!r} (known: {', '.join(registry.kinds)})",
        )
    return value


SECTIONS = [Section("saga_kinds", parse_saga_kinds, order=10)]


# --- saga_sync: how each kind is kept in sync (issue 15) --------------------------------


@dataclass(frozen=True)
class KindSync:
    """How one kind is synced beyond the periodic listing: where its Step Functions status
    change events arrive, and how its business key sits in the execution name."""

    kind: str
    events_rule: str | None = None  # EventBridge rule on the default bus of the environment
    events_queue: str | None = None  # the SQS queue (name or URL) the rule targets
    execution_name: str | None = None  # e.g. "order-{key}-*"
    name_pattern: re.Pattern[str] | None = None

    def key_from_name(self, name: str) -> str | None:
        """The business key an execution's name carries; None when it does not match."""
        if self.name_pattern is None:
            return None
        found = self.name_pattern.fullmatch(name)
        return found.group("key") if found else None


def name_pattern(template: str) -> re.Pattern[str]:
    """`order-{key}-*` -> a pattern whose `key` group is the business key (* is anything)."""
    parts = []
    for piece in re.split(r"(\{key\}|\*)", template):
        if piece == "{key}":
            parts.append(r"(?P<key>.+?)")
        elif piece == "*":
            parts.append(r".*")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def parse_saga_sync(entries: list[Fields], registry: Registry, line: int) -> dict[str, KindSync]:
    out: dict[str, KindSync] = {}
    seen: dict[str, int] = {}
    for s in entries:
        kind = str(known_kind(s, "kind", registry))  # required: never None
        unique(kind, seen, s, "kind")
        template = s.text("execution_name", required=False)
        if template is not None and template.count("{key}") != 1:
            raise Invalid(
                s.line_of("execution_name"),
                f"{s.where}.execution_name",
                "must contain {key} once, e.g. order-{key}-*",
            )
        rule = s.text("events_rule", required=False)
        queue = s.text("events_queue", required=False)
        if (rule is None) != (queue is None):
            missing = "events_queue" if queue is None else "events_rule"
            raise Invalid(
                s.line_of("events_rule" if rule else "events_queue"),
                f"{s.where}.{missing}",
                "is required with the other (the rule delivers to the queue)",
            )
        out[kind] = KindSync(
            kind=kind,
            events_rule=rule,
            events_queue=queue,
            execution_name=template,
            name_pattern=name_pattern(template) if template else None,
        )
        s.done()
    return out


def kind_sync(registry: Registry, kind: str) -> KindSync:
    """The sync settings of a kind (defaults when the registry says nothing about it)."""
    found: dict[str, KindSync] = registry.sections.get("saga_sync", {})
    return found.get(kind) or KindSync(kind=kind)


SECTIONS.append(Section("saga_sync", parse_saga_sync, order=20))
