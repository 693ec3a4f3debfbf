"""The `saga_kinds` section of the configuration file: what a saga of each kind looks like."""

from __future__ import annotations

import re

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
