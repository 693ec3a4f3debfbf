"""The console's configuration file: environments, saga kinds, approval queues, DLQs,
event archives and alert rules.

The file is YAML (path from OPSCONSOLE_REGISTRY). It is validated once at startup; a bad
file fails with `RegistryError` naming the file, the line and the field, never a traceback.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from opsconsole.aws.clients import AwsEnvironment

_PATH_RE = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
DLQ_MECHANISMS = ("sqs_redrive", "eventbridge_rule", "lambda_async", "lambda_destination")
ALERT_SEVERITIES = ("info", "warning", "critical")
ALERT_COMPARISONS = (">", ">=", "<", "<=")


class RegistryError(Exception):
    """The configuration file is unusable; the message names file, line and field."""

    def __init__(self, path: Path | str, line: int | None, field_name: str, reason: str) -> None:
        self.path = str(path)
        self.line = line
        self.field_name = field_name
        self.reason = reason
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {field_name}: {reason}")


def json_path_get(document: Any, path: str) -> Any:
    """Read a `$.a.b` path from parsed JSON; None when any part is missing."""
    current = document
    for part in path.split(".")[1:]:
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


@dataclass(frozen=True)
class SagaKind:
    key: str
    label: str
    singular: str
    environment: str
    state_machine: str  # name or ARN
    business_key_path: str
    correlation_id_path: str
    initiator_path: str
    table: str
    pk_attribute: str
    key_template: str  # e.g. "ORDER#{key}"
    status_attribute: str
    steps: tuple[str, ...]  # forward steps, in order (for filters and the timeline)
    compensation_steps: frozenset[str]
    approval_steps: frozenset[str]
    step_sla_seconds: dict[str, int]
    default_step_sla_seconds: int
    saga_sla_seconds: int | None
    sensitive_fields: tuple[str, ...]
    four_eyes: bool
    ticket_path: str | None = None
    amount_path: str | None = None
    currency_path: str | None = None

    def pk_for(self, business_key: str) -> str:
        return self.key_template.format(key=business_key)

    def sla_for(self, step: str | None) -> int:
        if step is None:
            return self.default_step_sla_seconds
        return self.step_sla_seconds.get(step, self.default_step_sla_seconds)


@dataclass(frozen=True)
class ApprovalQueue:
    name: str
    kind: str
    queue: str
    token_path: str
    business_key_path: str
    execution_path: str | None
    summary_template: str
    amount_path: str | None = None
    currency_path: str | None = None
    threshold_path: str | None = None
    timeout_seconds: int | None = None


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


@dataclass(frozen=True)
class AlertRule:
    name: str
    description: str
    severity: str
    comparison: str
    threshold: float
    # Either a CloudWatch metric or a console signal ("dlq_depth", "saga_failures"...).
    signal: str
    namespace: str | None = None
    metric: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    stat: str = "Maximum"
    period_seconds: int = 60
    for_evaluations: int = 1
    target: str | None = None  # the queue, kind or resource it watches


@dataclass(frozen=True)
class Registry:
    path: str
    environments: dict[str, AwsEnvironment]
    kinds: dict[str, SagaKind]
    approval_queues: tuple[ApprovalQueue, ...]
    dlqs: tuple[DeadLetterQueue, ...]
    archives: tuple[EventArchive, ...]
    alert_rules: tuple[AlertRule, ...]

    def kind(self, key: str) -> SagaKind | None:
        return self.kinds.get(key)

    def env_for(self, kind: SagaKind) -> AwsEnvironment:
        return self.environments[kind.environment]

    def dlq(self, name: str) -> DeadLetterQueue | None:
        return next((d for d in self.dlqs if d.name == name), None)

    def archive(self, name: str) -> EventArchive | None:
        return next((a for a in self.archives if a.name == name), None)

    def approval_queue(self, name: str) -> ApprovalQueue | None:
        return next((q for q in self.approval_queues if q.name == name), None)


# --- parsing with line numbers ---------------------------------------------------------


class _Node:
    """A parsed YAML value that remembers its line, for error messages."""

    __slots__ = ("value", "line")

    def __init__(self, value: Any, line: int) -> None:
        self.value = value
        self.line = line


def _convert(node: yaml.Node) -> _Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, _Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in mapping:
                raise _Fail(key_node.start_mark.line + 1, str(key), "appears twice")
            mapping[str(key)] = _convert(value_node)
        return _Node(mapping, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(v) for v in node.value], line)
    # Scalars: the safe constructor resolves ints, floats, bools and nulls.
    return _Node(yaml.SafeLoader("").construct_object(node, deep=True), line)


class _Fail(Exception):
    def __init__(self, line: int | None, field_name: str, reason: str) -> None:
        self.line = line
        self.field_name = field_name
        self.reason = reason


class _Section:
    """Typed access to one mapping, raising _Fail with the field's dotted name and line."""

    def __init__(self, node: _Node, where: str) -> None:
        if not isinstance(node.value, dict):
            raise _Fail(node.line, where, "must be a mapping")
        self.node = node
        self.where = where
        self.used: set[str] = set()

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def _get(self, key: str) -> _Node | None:
        self.used.add(key)
        return self.node.value.get(key)

    def text(self, key: str, default: str | None = None, *, required: bool = True) -> Any:
        n = self._get(key)
        if n is None or n.value is None:
            if default is not None or not required:
                return default
            raise _Fail(self.node.line, self._name(key), "is required")
        if not isinstance(n.value, str) or not n.value.strip():
            raise _Fail(n.line, self._name(key), "must be a non-empty string")
        return n.value.strip()

    def path(self, key: str, *, required: bool = True) -> Any:
        value = self.text(key, required=required)
        if value is not None and not _PATH_RE.match(value):
            n = self._get(key)
            raise _Fail(
                n.line if n else self.node.line,
                self._name(key),
                f"must be a JSON path like $.data.orderId, got {value!r}",
            )
        return value

    def integer(self, key: str, default: int | None = None, *, minimum: int = 0) -> Any:
        n = self._get(key)
        if n is None or n.value is None:
            return default
        if isinstance(n.value, bool) or not isinstance(n.value, int):
            raise _Fail(n.line, self._name(key), f"must be an integer, got {n.value!r}")
        if n.value < minimum:
            raise _Fail(n.line, self._name(key), f"must be >= {minimum}, got {n.value}")
        return n.value

    def number(self, key: str) -> float:
        n = self._get(key)
        if n is None or n.value is None:
            raise _Fail(self.node.line, self._name(key), "is required")
        if isinstance(n.value, bool) or not isinstance(n.value, int | float):
            raise _Fail(n.line, self._name(key), f"must be a number, got {n.value!r}")
        return float(n.value)

    def flag(self, key: str, default: bool) -> bool:
        n = self._get(key)
        if n is None or n.value is None:
            return default
        if not isinstance(n.value, bool):
            raise _Fail(n.line, self._name(key), f"must be true or false, got {n.value!r}")
        return n.value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> Any:
        value = self.text(key, default)
        if value not in choices:
            n = self._get(key)
            raise _Fail(
                n.line if n else self.node.line,
                self._name(key),
                f"must be one of {', '.join(choices)}, got {value!r}",
            )
        return value

    def str_list(self, key: str) -> list[str]:
        n = self._get(key)
        if n is None or n.value is None:
            return []
        if not isinstance(n.value, list):
            raise _Fail(n.line, self._name(key), "must be a list")
        out = []
        for i, item in enumerate(n.value):
            if not isinstance(item.value, str) or not item.value.strip():
                raise _Fail(item.line, f"{self._name(key)}[{i}]", "must be a non-empty string")
            out.append(item.value.strip())
        return out

    def mapping(self, key: str) -> dict[str, _Node]:
        n = self._get(key)
        if n is None or n.value is None:
            return {}
        if not isinstance(n.value, dict):
            raise _Fail(n.line, self._name(key), "must be a mapping")
        return dict(n.value)

    def line_of(self, key: str) -> int:
        n = self.node.value.get(key)
        return n.line if n else self.node.line

    def done(self) -> None:
        unknown = sorted(set(self.node.value) - self.used)
        if unknown:
            key = unknown[0]
            raise _Fail(self.node.value[key].line, self._name(key), "is not a known field")


def _items(root: _Section, key: str) -> list[tuple[_Section, int]]:
    n = root._get(key)
    if n is None or n.value is None:
        return []
    if not isinstance(n.value, list):
        raise _Fail(n.line, key, "must be a list")
    return [(_Section(item, f"{key}[{i}]"), i) for i, item in enumerate(n.value)]


def _unique(name: str, seen: dict[str, int], section: _Section, field_name: str = "name") -> None:
    if name in seen:
        raise _Fail(
            section.line_of(field_name),
            f"{section.where}.{field_name}",
            f"{name!r} is already used at line {seen[name]}",
        )
    seen[name] = section.line_of(field_name)


def _parse(text: str) -> Registry:
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise _Fail(mark.line + 1 if mark else None, "(syntax)", str(exc.problem or exc)) from None
    if document is None:
        raise _Fail(1, "(file)", "is empty")
    root = _Section(_convert(document), "")

    environments: dict[str, AwsEnvironment] = {}
    env_lines: dict[str, int] = {}
    for s, _ in _items(root, "environments"):
        name = s.text("name")
        _unique(name, env_lines, s)
        environments[name] = AwsEnvironment(
            name=name,
            region=s.text("region"),
            endpoint_url=s.text("endpoint_url", required=False) or settings.AWS_ENDPOINT_URL,
            role_arn=s.text("role_arn", required=False) or settings.AWS_ROLE_ARN,
            account_id=s.text("account_id", required=False),
        )
        s.done()
    if not environments:
        raise _Fail(root.line_of("environments"), "environments", "at least one is required")

    kinds: dict[str, SagaKind] = {}
    kind_lines: dict[str, int] = {}
    for s, _ in _items(root, "saga_kinds"):
        key = s.text("key")
        if not _NAME_RE.match(key):
            raise _Fail(
                s.line_of("key"),
                f"{s.where}.key",
                "must be lower-case letters, digits, - or _ (a URL segment)",
            )
        _unique(key, kind_lines, s, "key")
        env = s.text("environment")
        if env not in environments:
            raise _Fail(
                s.line_of("environment"),
                f"{s.where}.environment",
                f"unknown environment {env!r} (known: {', '.join(environments)})",
            )
        template = s.text("key_template")
        if "{key}" not in template:
            raise _Fail(
                s.line_of("key_template"),
                f"{s.where}.key_template",
                "must contain {key}, e.g. ORDER#{key}",
            )
        sla = s.mapping("step_sla_seconds")
        step_sla: dict[str, int] = {}
        for step, n in sla.items():
            if isinstance(n.value, bool) or not isinstance(n.value, int) or n.value <= 0:
                raise _Fail(
                    n.line,
                    f"{s.where}.step_sla_seconds.{step}",
                    f"must be a positive integer of seconds, got {n.value!r}",
                )
            step_sla[step] = n.value
        steps = s.str_list("steps")
        kinds[key] = SagaKind(
            key=key,
            label=s.text("label"),
            singular=s.text("singular", key.rstrip("s")),
            environment=env,
            state_machine=s.text("state_machine"),
            business_key_path=s.path("business_key"),
            correlation_id_path=s.path("correlation_id"),
            initiator_path=s.path("initiator"),
            table=s.text("table"),
            pk_attribute=s.text("pk_attribute", "pk"),
            key_template=template,
            status_attribute=s.text("status_attribute", "status"),
            steps=tuple(steps),
            compensation_steps=frozenset(s.str_list("compensation_steps")),
            approval_steps=frozenset(s.str_list("approval_steps")),
            step_sla_seconds=step_sla,
            default_step_sla_seconds=s.integer("default_step_sla_seconds", 300, minimum=1),
            saga_sla_seconds=s.integer("saga_sla_seconds", None, minimum=1),
            sensitive_fields=tuple(s.str_list("sensitive_fields")),
            four_eyes=s.flag("four_eyes", False),
            ticket_path=s.path("ticket", required=False),
            amount_path=s.path("amount", required=False),
            currency_path=s.path("currency", required=False),
        )
        s.done()
    if not kinds:
        raise _Fail(root.line_of("saga_kinds"), "saga_kinds", "at least one is required")

    def known_kind(s: _Section, key: str, *, required: bool = True) -> str | None:
        value = s.text(key, required=required)
        if value is not None and value not in kinds:
            raise _Fail(
                s.line_of(key),
                f"{s.where}.{key}",
                f"unknown saga kind {value!r} (known: {', '.join(kinds)})",
            )
        return value

    queues: list[ApprovalQueue] = []
    seen: dict[str, int] = {}
    for s, _ in _items(root, "approval_queues"):
        name = s.text("name")
        _unique(name, seen, s)
        queues.append(
            ApprovalQueue(
                name=name,
                kind=str(known_kind(s, "kind")),
                queue=s.text("queue"),
                token_path=s.path("token"),
                business_key_path=s.path("business_key"),
                execution_path=s.path("execution", required=False),
                summary_template=s.text("summary", "{business_key}"),
                amount_path=s.path("amount", required=False),
                currency_path=s.path("currency", required=False),
                threshold_path=s.path("threshold", required=False),
                timeout_seconds=s.integer("timeout_seconds", None, minimum=1),
            )
        )
        s.done()

    dlqs: list[DeadLetterQueue] = []
    seen = {}
    for s, _ in _items(root, "dlqs"):
        name = s.text("name")
        _unique(name, seen, s)
        dlqs.append(
            DeadLetterQueue(
                name=name,
                queue=s.text("queue"),
                mechanism=s.choice("mechanism", DLQ_MECHANISMS, "sqs_redrive"),
                source=s.text("source", required=False),
                kind=known_kind(s, "kind", required=False),
                description=s.text("description", "", required=False) or "",
            )
        )
        s.done()

    archives: list[EventArchive] = []
    seen = {}
    for s, _ in _items(root, "archives"):
        name = s.text("name")
        _unique(name, seen, s)
        archives.append(
            EventArchive(
                name=name,
                archive=s.text("archive"),
                bus=s.text("bus"),
                description=s.text("description", "", required=False) or "",
            )
        )
        s.done()

    rules: list[AlertRule] = []
    seen = {}
    for s, _ in _items(root, "alert_rules"):
        name = s.text("name")
        _unique(name, seen, s)
        dims = {k: str(v.value) for k, v in s.mapping("dimensions").items()}
        signal = s.text("signal", "metric")
        namespace = s.text("namespace", required=False)
        metric = s.text("metric", required=False)
        if signal == "metric" and not (namespace and metric):
            raise _Fail(
                s.node.line, f"{s.where}.metric", "a metric rule needs both namespace and metric"
            )
        rules.append(
            AlertRule(
                name=name,
                description=s.text("description", name),
                severity=s.choice("severity", ALERT_SEVERITIES, "warning"),
                comparison=s.choice("comparison", ALERT_COMPARISONS, ">"),
                threshold=s.number("threshold"),
                signal=signal,
                namespace=namespace,
                metric=metric,
                dimensions=dims,
                stat=s.text("stat", "Maximum"),
                period_seconds=s.integer("period_seconds", 60, minimum=1),
                for_evaluations=s.integer("for_evaluations", 1, minimum=1),
                target=s.text("target", required=False),
            )
        )
        s.done()

    root.done()
    return Registry(
        path="",
        environments=environments,
        kinds=kinds,
        approval_queues=tuple(queues),
        dlqs=tuple(dlqs),
        archives=tuple(archives),
        alert_rules=tuple(rules),
    )


def load(path: Path | str) -> Registry:
    """Read and validate a registry file; raise RegistryError on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RegistryError(path, None, "(file)", "does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RegistryError(path, None, "(file)", f"cannot be read: {exc}") from None
    try:
        return dataclasses.replace(_parse(text), path=str(path))
    except _Fail as fail:
        raise RegistryError(path, fail.line, fail.field_name, fail.reason) from None


_cache: Registry | None = None
_cache_lock = threading.Lock()


def get_registry() -> Registry:
    """The registry named by settings, loaded once per process."""
    global _cache
    if _cache is None:
        with _cache_lock:
            if _cache is None:
                _cache = load(settings.REGISTRY_PATH)
    return _cache


def reset_registry() -> None:
    """Forget the loaded registry (tests and settings changes)."""
    global _cache
    with _cache_lock:
        _cache = None
