"""The approvals codes in the one error mapping: HTTP status, title and how each reads.
Registered from `ApprovalsConfig.ready()`; pages show `message_for(exc)`, the API answers
with the same sentence as problem details."""

from __future__ import annotations

from opsconsole.web.problems import ErrorSpec

from . import messages
from .actions import errors as e

ERROR_SPECS: dict[str, ErrorSpec] = {
    e.ApprovalError.code: ErrorSpec(400, "Approval refused", "This approval action was refused."),
    e.RequestNotFound.code: ErrorSpec(
        404, "Approval request not found", "No such approval request."
    ),
    e.NotAnApprover.code: ErrorSpec(
        403, "Not an approver", "Only approvers and admins may decide approval requests."
    ),
    e.SelfApproval.code: ErrorSpec(403, "Initiator may not approve", messages.self_approval),
    e.SameApprover.code: ErrorSpec(
        403,
        "Second approver needed",
        "You gave the first approval. Four eyes: a second, different approver must approve.",
    ),
    e.InvalidDecision.code: ErrorSpec(400, "Invalid decision", messages.invalid_decision),
    e.MixedKinds.code: ErrorSpec(
        400, "Mixed kinds", "Bulk decisions take requests of one kind at a time."
    ),
    e.AlreadyDecided.code: ErrorSpec(409, "Already decided", messages.already_decided),
    e.ClaimedByOther.code: ErrorSpec(409, "Claimed by another approver", messages.claimed),
    # Outcomes, not refusals: the decision was taken, but the execution no longer waited.
    "approval.expired": ErrorSpec(409, "No longer waiting for a decision", "{detail}"),
    "approval.closed": ErrorSpec(409, "No longer waiting for a decision", "{detail}"),
}
