"""What an approver sees of the saga behind a request: read model facts plus a live look.

Reads only. The live part is two AWS calls for the one request on screen (history page,
business items), never one per row of a list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.urls import NoReverseMatch, reverse

from opsconsole.aws import dynamodb, stepfunctions
from opsconsole.aws.errors import AwsError
from opsconsole.registry import get_registry
from sagas.models import Saga

from .models import ApprovalRequest

logger = logging.getLogger(__name__)
TIMELINE_STEPS = 12


@dataclass(frozen=True)
class Step:
    name: str
    at: datetime
    outcome: str = ""  # "", "failed", "current"


@dataclass(frozen=True)
class SagaContext:
    saga: Saga | None
    case_url: str | None
    execution_status: str = ""
    business_status: str = ""
    steps: tuple[Step, ...] = ()
    steps_hidden: int = 0
    error: str = ""
    facts: dict[str, Any] = field(default_factory=dict)


def case_page_url(saga: Saga | None) -> str | None:
    """The saga's case page, when the sagas app serves one."""
    if saga is None:
        return None
    for args in ([saga.kind, saga.pk], [saga.pk]):
        try:
            return reverse("sagas:detail", args=args)
        except NoReverseMatch:
            continue
    return None


def timeline_summary(events: list[stepfunctions.HistoryEvent]) -> tuple[list[Step], str]:
    """The states entered, in order, and the execution status the history ends in (pure)."""
    steps: list[Step] = []
    status = "RUNNING"
    for event in events:
        if event.type.endswith("StateEntered"):
            name = str(event.details.get("name") or "?")
            steps.append(Step(name=name, at=event.timestamp))
        elif event.type.endswith("Failed") and steps and event.type != "ExecutionFailed":
            last = steps[-1]
            steps[-1] = Step(last.name, last.at, "failed")
        if event.type in (
            "ExecutionSucceeded",
            "ExecutionFailed",
            "ExecutionAborted",
            "ExecutionTimedOut",
        ):
            status = event.type.removeprefix("Execution").upper().replace("TIMEDOUT", "TIMED_OUT")
    if status == "RUNNING" and steps and steps[-1].outcome == "":
        last = steps[-1]
        steps[-1] = Step(last.name, last.at, "current")
    return steps, status


def saga_context(req: ApprovalRequest, *, live: bool = True) -> SagaContext:
    """The read model's view of the saga, and (live) its history and business status."""
    saga = req.saga
    if saga is None and req.execution_arn:
        saga = Saga.objects.filter(execution_arn=req.execution_arn).first()
    case_url = case_page_url(saga)
    if not live or not req.execution_arn:
        return SagaContext(saga=saga, case_url=case_url)
    registry = get_registry()
    kind = registry.kind(req.kind)
    env = registry.env_for(kind) if kind else None
    errors = []
    steps: list[Step] = []
    status = ""
    try:
        page = stepfunctions.get_history_page(req.execution_arn, env=env)
        steps, status = timeline_summary(list(page.events))
        if page.next_token:
            status = saga.sfn_status if saga else ""
    except AwsError as exc:
        errors.append(f"execution history: {exc}")
    business_status = saga.business_status if saga else ""
    if kind is not None:
        try:
            items = dynamodb.query_partition(
                kind.table, kind.pk_attribute, kind.pk_for(req.business_key), limit=25, env=env
            )
            # The saga's own item (sk META by convention) over step stamps like PAYMENT.
            with_status = [i.values for i in items if kind.status_attribute in i.values]
            meta = next((v for v in with_status if v.get("sk") == "META"), None) or next(
                iter(with_status), None
            )
            if meta is not None:
                business_status = str(meta.get(kind.status_attribute, ""))
        except AwsError as exc:
            errors.append(f"business items: {exc}")
    hidden = max(0, len(steps) - TIMELINE_STEPS)
    return SagaContext(
        saga=saga,
        case_url=case_url,
        execution_status=status,
        business_status=business_status,
        steps=tuple(steps[-TIMELINE_STEPS:]),
        steps_hidden=hidden,
        error="; ".join(errors),
    )
