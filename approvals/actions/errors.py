"""Why an approval action refuses: stable codes and the facts behind them.

No HTTP and no sentences here; `approvals.errors` says how each code reads and which status
it answers with (registered from `ApprovalsConfig.ready()`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from opsconsole.errors import DomainError

from ..models import ApprovalRequest


class ApprovalError(DomainError):
    """A decision or claim that cannot be made."""

    code = "approval.invalid"


class RequestNotFound(ApprovalError):
    code = "approval.not_found"


class NotAnApprover(ApprovalError):
    """Only approvers and admins decide and claim (`role` is what the actor holds)."""

    code = "approval.not_an_approver"


class SelfApproval(ApprovalError):
    """The initiator (`requested_by`) may not approve their own saga."""

    code = "approval.self_approval"


class SameApprover(ApprovalError):
    """Four eyes: the second approval must come from somebody else than `first_approved_by`."""

    code = "approval.same_approver"


class InvalidDecision(ApprovalError):
    """The input breaks a rule: `problem` names it, `field` the input, `limit` a length."""

    code = "approval.invalid_decision"


class MixedKinds(ApprovalError):
    code = "approval.mixed_kinds"


class AlreadyDecided(ApprovalError):
    """Somebody (or AWS) got there first."""

    code = "approval.already_decided"

    @classmethod
    def of(cls, req: ApprovalRequest) -> AlreadyDecided:
        # `approval_status`, not `status`: a problem document's `status` is the HTTP one.
        return cls(
            request_id=req.pk,
            approval_status=str(req.status),
            status_reason=req.status_reason,
            decision=req.decision,
            decided_by=req.decided_by,
            decided_at=req.decided_at,
        )


class ClaimedByOther(ApprovalError):
    code = "approval.claimed"

    @classmethod
    def of(cls, req: ApprovalRequest) -> ClaimedByOther:
        return cls(request_id=req.pk, claimed_by=req.claimed_by, claimed_until=req.claimed_until)


def facts(error: DomainError) -> dict[str, Any]:
    """An error's code and params as JSON values (for the audit log and problem documents)."""
    out: dict[str, Any] = {"code": error.code}
    for name, value in error.params.items():
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out
