"""Every state change of an approval request, one module per job: `intake` (collect requests
from the callback queues), `claims`, `decisions` (decide exactly once, deliver to AWS,
replays), `bulk`, `sweep` (lost sends, saga links, retiring), and their `errors`.

Callers use the package: `from approvals import actions; actions.decide(...)`.
"""

from __future__ import annotations

from .bulk import BulkItem, decide_many
from .claims import CLAIM_DURATION, claim, unclaim
from .common import APPROVER_ROLES, MAX_TEXT, MAX_TICKET, identities_for
from .decisions import (
    REJECTED_ERROR,
    WAIT_RESOURCE,
    DecisionResult,
    approve_output,
    decide,
    pending_send_message,
)
from .errors import (
    AlreadyDecided,
    ApprovalError,
    ClaimedByOther,
    InvalidDecision,
    MixedKinds,
    NotAnApprover,
    RequestNotFound,
    SameApprover,
    SelfApproval,
)
from .intake import (
    MAX_MESSAGES_PER_QUEUE,
    RECEIVE_VISIBILITY_SECONDS,
    CollectResult,
    ParsedMessage,
    collect_approval_requests,
    parse_message,
)
from .sweep import (
    SEND_RETRY_AFTER,
    SweepResult,
    link_sagas,
    retire_finished,
    retry_pending_sends,
    sweep_approval_requests,
)

__all__ = [
    "APPROVER_ROLES",
    "CLAIM_DURATION",
    "MAX_MESSAGES_PER_QUEUE",
    "MAX_TEXT",
    "MAX_TICKET",
    "RECEIVE_VISIBILITY_SECONDS",
    "REJECTED_ERROR",
    "SEND_RETRY_AFTER",
    "WAIT_RESOURCE",
    "AlreadyDecided",
    "ApprovalError",
    "BulkItem",
    "ClaimedByOther",
    "CollectResult",
    "DecisionResult",
    "InvalidDecision",
    "MixedKinds",
    "NotAnApprover",
    "ParsedMessage",
    "RequestNotFound",
    "SameApprover",
    "SelfApproval",
    "SweepResult",
    "approve_output",
    "claim",
    "collect_approval_requests",
    "decide",
    "decide_many",
    "identities_for",
    "link_sagas",
    "parse_message",
    "pending_send_message",
    "retire_finished",
    "retry_pending_sends",
    "sweep_approval_requests",
    "unclaim",
]
