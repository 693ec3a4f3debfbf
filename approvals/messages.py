"""How approval facts read to a person: shared by the error mapping (`approvals.errors`),
the decision outcomes and the pages, so a refusal reads the same everywhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from opsconsole.web import formatting


def format_time(at: datetime | str | None) -> str:
    """A moment from an error's params (a datetime, or its ISO text once serialised)."""
    return formatting.format_time(parse_datetime(at) if isinstance(at, str) else at)


def already_decided(facts: Mapping[str, Any]) -> str:
    """Why a request takes no decision any more (from `AlreadyDecided`'s params)."""
    status = facts.get("approval_status")
    if status in ("expired", "closed"):
        reason = facts.get("status_reason")
        return f"This request is {status}{f': {reason}' if reason else '.'}"
    verb = {"approve": "Already approved", "reject": "Already rejected"}.get(
        facts.get("decision") or "", "Already decided"
    )
    who = facts.get("decided_by") or "somebody else"
    return f"{verb} by {who} at {format_time(facts.get('decided_at'))}."


def claimed(facts: Mapping[str, Any]) -> str:
    return (
        f"{facts.get('claimed_by')} is working on this request until "
        f"{format_time(facts.get('claimed_until'))}."
    )


_INVALID_DECISION = {
    "decision": "The decision must be 'approve' or 'reject'.",
    "reason_required": "A rejection needs a reason: it is sent to the saga as the cause.",
    "too_long": "Reason and comment are limited to {limit} characters.",
    "ticket_too_long": "A ticket reference is at most {limit} characters.",
}


def invalid_decision(facts: Mapping[str, Any]) -> str:
    template = _INVALID_DECISION.get(facts.get("problem") or "", "The decision is not valid.")
    return template.format(limit=facts.get("limit", "?"))


def self_approval(facts: Mapping[str, Any]) -> str:
    return (
        f"You started this saga ({facts.get('requested_by')}), so you may not approve it: "
        "another approver must."
    )
