"""What an approver sees of the saga behind a request: read model facts plus its summary.

Reads only, through the sagas' own selector: the execution history comes from the case
page's cache (complete, every page), refreshed only while the execution can still change.
"""

from __future__ import annotations

from dataclasses import dataclass

from sagas.models import Saga
from sagas.selectors import LATEST_STEPS, CaseSummary, case_summary

from .models import ApprovalRequest

TIMELINE_STEPS = LATEST_STEPS


@dataclass(frozen=True)
class SagaContext:
    saga: Saga | None
    case_url: str | None
    # None until the saga is synced, or when not read live.
    summary: CaseSummary | None = None


def case_page_url(saga: Saga | None) -> str | None:
    """The saga's case page, when the sagas app serves one."""
    if saga is None:
        return None
    return saga.get_absolute_url() or None


def saga_context(req: ApprovalRequest, *, live: bool = True) -> SagaContext:
    """The read model's view of the saga and (live) its summary: status, latest steps."""
    saga = req.saga
    if saga is None and req.execution_arn:
        saga = Saga.objects.filter(execution_arn=req.execution_arn).first()
    case_url = case_page_url(saga)
    if not live or saga is None:
        # Not synced yet: the sweep links the saga once the read model has it.
        return SagaContext(saga=saga, case_url=case_url)
    return SagaContext(saga, case_url, case_summary(saga, latest=TIMELINE_STEPS))
