"""The console's configuration file: environments here, every other section by its feature.

The file is YAML (path from OPSCONSOLE_REGISTRY). It is validated once at startup; a bad
file fails with `RegistryError` naming the file, the line and the field, never a traceback.

This module parses `environments` and owns the mechanism: line-aware `Fields`, `Invalid`
for a bad value, and the top-level sections each app declares with its AppConfig's
`registry_sections()` (saga_kinds in sagas, approval_queues in approvals, dlqs and archives
in recovery, alert_rules in monitoring). A top-level key no app declares is reported with
its line, like any unknown field.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from opsconsole.aws.clients import AwsEnvironment

_log = logging.getLogger(__name__)
_PATH_RE = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_]*)*$")


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
    table: str | None  # None: the kind keeps no business state in DynamoDB
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
    # The business state's item layout: the sort-key attribute, and the sort-key values of
    # the item holding the status, the first found wins.
    sort_key_attribute: str = "sk"
    status_item_keys: tuple[str, ...] = ("META", "PROFILE")
    # Steps that only tell someone (an SNS alert before a Fail state): neither forward
    # work nor compensation, so running one undoes nothing.
    notification_steps: frozenset[str] = frozenset()

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
    # Where the message carries them; a message without them takes its saga's.
    correlation_id_path: str | None = "$.correlationId"
    initiator_path: str | None = "$.initiator"


@dataclass(frozen=True)
class Registry:
    path: str
    environments: dict[str, AwsEnvironment]
    # Each declared section's parsed value, by its top-level key.
    sections: dict[str, Any]

    def section(self, key: str) -> Any:
        """A section's parsed value; KeyError when no installed app declares it."""
        return self.sections[key]

    # Shortcuts for the sections most modules read (the others are read, typed, through
    # their feature's config module: `recovery.config.dlqs(registry)`). SagaKind and
    # ApprovalQueue still live in this module because files edited in parallel import them
    # from here (sagas/views.py, approvals/actions.py); they belong in sagas/config.py and
    # approvals/config.py next to their parsers, like DeadLetterQueue and AlertRule.
    @property
    def kinds(self) -> dict[str, SagaKind]:
        return self.sections.get("saga_kinds", {})

    @property
    def approval_queues(self) -> tuple[ApprovalQueue, ...]:
        return self.sections.get("approval_queues", ())

    def kind(self, key: str) -> SagaKind | None:
        return self.kinds.get(key)

    def env_for(self, kind: SagaKind) -> AwsEnvironment:
        return self.environments[kind.environment]

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
                raise Invalid(key_node.start_mark.line + 1, str(key), "appears twice")
            mapping[str(key)] = _convert(value_node)
        return _Node(mapping, line)
    if isinstance(node, yaml.SequenceNode):
        return _Node([_convert(v) for v in node.value], line)
    # Scalars: the safe constructor resolves ints, floats, bools and nulls.
    return _Node(yaml.SafeLoader("").construct_object(node, deep=True), line)


class Invalid(Exception):
    """Raised by a parser: the value at `line` of the field `field_name` is unusable."""

    def __init__(self, line: int | None, field_name: str, reason: str) -> None:
        self.line = line
        self.field_name = field_name
        self.reason = reason


class Fields:
    """Typed access to one mapping, raising Invalid with the field's dotted name and line."""

    def __init__(self, node: _Node, where: str) -> None:
        if not isinstance(node.value, dict):
            raise Invalid(node.line, where, "must be a mapping")
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
            raise Invalid(self.node.line, self._name(key), "is required")
        if not isinstance(n.value, str) or not n.value.strip():
            raise Invalid(n.line, self._name(key), "must be a non-empty string")
        return n.value.strip()

    def path(self, key: str, *, required: bool = True) -> Any:
        value = self.text(key, required=required)
        if value is not None and not _PATH_RE.match(value):
            raise self._invalid(key, f"must be a JSON path like $.data.orderId, got {value!r}")
        return value

    def integer(self, key: str, default: int | None = None, *, minimum: int = 0) -> Any:
        n = self._get(key)
        if n is None or n.value is None:
            return default
        if isinstance(n.value, bool) or not isinstance(n.value, int):
            raise Invalid(n.line, self._name(key), f"must be an integer, got {n.value!r}")
        if n.value < minimum:
            raise Invalid(n.line, self._name(key), f"must be >= {minimum}, got {n.value}")
        return n.value

    def number(self, key: str) -> float:
        n = self._get(key)
        if n is None or n.value is None:
            raise Invalid(self.node.line, self._name(key), "is required")
        if isinstance(n.value, bool) or not isinstance(n.value, int | float):
            raise Invalid(n.line, self._name(key), f"must be a number, got {n.value!r}")
        return float(n.value)

    def flag(self, key: str, default: bool) -> bool:
        n = self._get(key)
        if n is None or n.value is None:
            return default
        if not isinstance(n.value, bool):
            raise Invalid(n.line, self._name(key), f"must be true or false, got {n.value!r}")
        return n.value

    def choice(self, key: str, choices: tuple[str, ...], default: str | None = None) -> Any:
        value = self.text(key, default)
        if value not in choices:
            raise self._invalid(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def str_list(self, key: str) -> list[str]:
        n = self._get(key)
        if n is None or n.value is None:
            return []
        if not isinstance(n.value, list):
            raise Invalid(n.line, self._name(key), "must be a list")
        out = []
        for i, item in enumerate(n.value):
            if not isinstance(item.value, str) or not item.value.strip():
                raise Invalid(item.line, f"{self._name(key)}[{i}]", "must be a non-empty string")
            out.append(item.value.strip())
        return out

    def mapping(self, key: str) -> dict[str, _Node]:
        n = self._get(key)
        if n is None or n.value is None:
            return {}
        if not isinstance(n.value, dict):
            raise Invalid(n.line, self._name(key), "must be a mapping")
        return dict(n.value)

    def _invalid(self, key: str, reason: str) -> Invalid:
        return Invalid(self.line_of(key), self._name(key), reason)

    def line_of(self, key: str) -> int:
        n = self.node.value.get(key)
        return n.line if n else self.node.line

    def done(self) -> None:
        unknown = sorted(set(self.node.value) - self.used)
        if unknown:
            key = unknown[0]
            raise Invalid(self.node.value[key].line, self._name(key), "is not a known field")


def _items(root: Fields, key: str) -> list[Fields]:
    n = root._get(key)
    if n is None or n.value is None:
        return []
    if not isinstance(n.value, list):
        raise Invalid(n.line, key, "must be a list")
    return [Fields(item, f"{key}[{i}]") for i, item in enumerate(n.value)]


def unique(name: str, seen: dict[str, int], section: Fields, field_name: str = "name") -> None:
    """Refuse a name already used in the same section, naming the line of the first use."""
    if name in seen:
        raise Invalid(
            section.line_of(field_name),
            f"{section.where}.{field_name}",
            f"{name!r} is already used at line {seen[name]}",
        )
    seen[name] = section.line_of(field_name)


# --- sections declared by apps ---------------------------------------------------------

# A section's parser gets its list entries (each with its `key[i]` name and lines), the
# registry parsed so far (environments and every earlier section), and the line of the
# section's key (of the file's first key when it is absent), for "at least one" errors.
SectionParser = Callable[[list[Fields], Registry, int], Any]

_Entry = TypeVar("_Entry")


def named_entries(
    build: Callable[[Fields, str, Registry], _Entry],
) -> Callable[[list[Fields], Registry, int], tuple[_Entry, ...]]:
    """The parser of a list section whose entries have unique names: each entry is built
    from its fields, then checked for keys nobody read."""

    def parse(entries: list[Fields], registry: Registry, line: int) -> tuple[_Entry, ...]:
        built: list[_Entry] = []
        seen: dict[str, int] = {}
        for s in entries:
            name = s.text("name")
            unique(name, seen, s)
            built.append(build(s, name, registry))
            s.done()
        return tuple(built)

    return parse


@dataclass(frozen=True)
class Section:
    key: str
    parse: SectionParser
    # Sections parse in this order; one that refers to another (a DLQ to its saga kind)
    # comes after it. Saga kinds are 10.
    order: int = 100


def _declared_sections() -> list[Section]:
    # Asked of the app configs, not filled in by their ready(): the platform app validates
    # the file in its own ready(), which runs before the features' (INSTALLED_APPS order).
    from django.apps import apps

    sections: dict[str, Section] = {}
    for config in apps.get_app_configs():
        declare: Callable[[], Iterable[Section]] | None = getattr(config, "registry_sections", None)
        for section in declare() if declare else ():
            if section.key in sections or section.key == "environments":
                raise ImproperlyConfigured(f"registry section {section.key!r} declared twice")
            sections[section.key] = section
    return sorted(sections.values(), key=lambda s: (s.order, s.key))


def _parse(text: str) -> Registry:
    try:
        document = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise Invalid(
            mark.line + 1 if mark else None, "(syntax)", str(exc.problem or exc)
        ) from None
    if document is None:
        raise Invalid(1, "(file)", "is empty")
    root = Fields(_convert(document), "")

    environments: dict[str, AwsEnvironment] = {}
    env_lines: dict[str, int] = {}
    for s in _items(root, "environments"):
        name = s.text("name")
        unique(name, env_lines, s)
        environments[name] = AwsEnvironment(
            name=name,
            region=s.text("region"),
            endpoint_url=s.text("endpoint_url", required=False) or settings.AWS_ENDPOINT_URL,
            role_arn=s.text("role_arn", required=False) or settings.AWS_ROLE_ARN,
            account_id=s.text("account_id", required=False),
        )
        s.done()
    if not environments:
        raise Invalid(root.line_of("environments"), "environments", "at least one is required")

    registry = Registry(path="", environments=environments, sections={})
    for section in _declared_sections():
        entries = _items(root, section.key)
        registry.sections[section.key] = section.parse(entries, registry, root.line_of(section.key))
    root.done()
    return registry


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
    except Invalid as fail:
        raise RegistryError(path, fail.line, fail.field_name, fail.reason) from None


_cache: Registry | None = None
_cache_lock = threading.Lock()
# Reloading without a restart: the file's modification time is looked at, at most every
# RELOAD_CHECK_SECONDS per process; a changed file is validated, and replaces the loaded
# registry only when valid. An invalid one leaves the old registry in charge and says why
# (`reload_problem`, shown on the pages, and logged once per change of the file).
RELOAD_CHECK_SECONDS = 2.0
_loaded_stamp: tuple[int, int] | None = None
_checked_at = 0.0
_problem: str = ""
_problem_stamp: tuple[int, int] | None = None


def _stamp(path: Path | str) -> tuple[int, int] | None:
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def get_registry() -> Registry:
    """The registry named by settings: loaded once per process, and reloaded when the file
    changes (a change that does not validate is refused, and the old registry kept)."""
    global _cache, _loaded_stamp, _checked_at
    if _cache is None:
        with _cache_lock:
            if _cache is None:
                _loaded_stamp = _stamp(settings.REGISTRY_PATH)
                _cache = load(settings.REGISTRY_PATH)
                _checked_at = time.monotonic()
        return _cache
    if time.monotonic() - _checked_at >= RELOAD_CHECK_SECONDS:
        _maybe_reload()
    return _cache


def _maybe_reload() -> None:
    global _cache, _loaded_stamp, _checked_at, _problem, _problem_stamp
    with _cache_lock:
        _checked_at = time.monotonic()
        path = settings.REGISTRY_PATH
        stamp = _stamp(path)
        if stamp is None or stamp in (_loaded_stamp, _problem_stamp):
            return
        try:
            fresh = load(path)
        except RegistryError as exc:
            _problem, _problem_stamp = str(exc), stamp
            _log.error(
                "registry %s changed but is invalid, still using the one loaded: %s", path, exc
            )
            return
        _cache, _loaded_stamp = fresh, stamp
        _problem, _problem_stamp = "", None
        _log.warning("registry %s reloaded", path)


def reload_problem() -> str:
    """Why the changed registry file was refused ('' when the file in use is the file)."""
    return _problem


def reset_registry() -> None:
    """Forget the loaded registry (tests and settings changes)."""
    global _cache, _loaded_stamp, _problem, _problem_stamp, _checked_at
    with _cache_lock:
        _cache = None
        _loaded_stamp = None
        _problem, _problem_stamp = "", None
        _checked_at = 0.0
