"""The `approval_queues` section of the configuration file: where callbacks arrive."""

from __future__ import annotations

from opsconsole.registry import ApprovalQueue, Fields, Registry, Section, named_entries
from sagas.config import known_kind


def _approval_queue(s: Fields, name: str, registry: Registry) -> ApprovalQueue:
    return ApprovalQueue(
        name=name,
        kind=str(known_kind(s, "kind", registry)),
        queue=s.text("queue"),
        token_path=s.path("token"),
        business_key_path=s.path("business_key"),
        execution_path=s.path("execution", required=False),
        summary_template=s.text("summary", "{business_key}"),
        amount_path=s.path("amount", required=False),
        currency_path=s.path("currency", required=False),
        threshold_path=s.path("threshold", required=False),
        timeout_seconds=s.integer("timeout_seconds", None, minimum=1),
        correlation_id_path=_optional_path(s, "correlation_id", "$.correlationId"),
        initiator_path=_optional_path(s, "initiator", "$.initiator"),
    )


def _optional_path(s: Fields, key: str, default: str) -> str | None:
    """A message field's path: the default when absent, none at all when given as ''."""
    node = s.node.value.get(key)
    if node is not None and node.value == "":
        s.used.add(key)
        return None
    return s.path(key, required=False) or default


SECTIONS = [Section("approval_queues", named_entries(_approval_queue), order=20)]
