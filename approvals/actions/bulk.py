"""Bulk decisions: several requests of one kind, each decided and audited on its own."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Unpack

from opsconsole.audit.log import Actor

from ..models import ApprovalRequest, Decision
from .common import not_an_approver, refuse
from .decisions import Words, decide
from .errors import ApprovalError, MixedKinds, RequestNotFound


@dataclass(frozen=True)
class BulkItem:
    request_id: int
    label: str
    ok: bool
    outcome: str  # a decision outcome, or the refusal's code
    message: str = ""  # the outcome's message when decided
    error: ApprovalError | None = None  # why it was refused (the page words it)


def decide_many(
    request_ids: Iterable[int | str],
    *,
    actor: Actor,
    decision: str,
    idempotency_key: str = "",
    identities: Iterable[str] = (),
    **words: Unpack[Words],
) -> list[BulkItem]:
    """Decide several requests of one kind; each is decided and audited on its own."""
    ids: list[int] = []
    for raw in request_ids:
        try:
            ids.append(int(raw))
        except (TypeError, ValueError):
            continue
    ids = list(dict.fromkeys(ids))
    action = f"approval.bulk_{decision if decision in Decision.values else 'decide'}"
    target = ",".join(str(i) for i in ids)
    refusal = not_an_approver(actor)
    if refusal is not None:
        raise refuse(actor, action, refusal, target_id=target)
    rows = {
        r.pk: r for r in ApprovalRequest.objects.filter(pk__in=ids).only("pk", "kind", "summary")
    }
    kinds = {r.kind for r in rows.values()}
    if len(kinds) > 1:
        raise refuse(actor, action, MixedKinds(kinds=sorted(kinds)), target_id=target)
    identities = tuple(identities)
    items = []
    for pk in ids:
        row = rows.get(pk)
        if row is None:
            missing = RequestNotFound(request_id=pk)
            items.append(BulkItem(pk, f"#{pk}", False, missing.code, error=missing))
            continue
        try:
            result = decide(
                pk,
                actor=actor,
                decision=decision,
                idempotency_key=f"{idempotency_key}:{pk}" if idempotency_key else "",
                identities=identities,
                **words,
            )
        except ApprovalError as exc:
            items.append(BulkItem(pk, row.summary, False, exc.code, error=exc))
            continue
        ok = result.outcome in ("approved", "rejected", "first_approval")
        items.append(BulkItem(pk, row.summary, ok, result.outcome, result.message))
    return items
