"""Sending dead letters back and deleting them: the selection, its preview, and the job.

The preview is what the person confirms (and what the audit record keeps); `submit_*` then
writes the job (opsconsole.recovery.jobs), which handlers.py works."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.errors import InvalidInput

from .. import jobs
from ..config import DeadLetterQueue
from ..models import DeadLetter, Job
from . import extract, present
from .actions import dlq_named, require_operator
from .errors import DlqNotFound, InvalidEdit, NothingSelected
from .handlers import DELETE, REDRIVE, item_key
from .selectors import search

MAX_SELECTION = 100_000
STALE_AFTER = timedelta(minutes=10)
MAX_TICKET = 64


def selected(
    ids: Iterable[int | str] = (), *, q: str = "", dlq: str = "", all_matching: bool = False
) -> list[DeadLetter]:
    """The dead letters a person picked (by id), or all matching a search, that are still
    in their DLQ as far as the console knows."""
    if all_matching:
        if q:
            found = search(q, dlq=dlq, state=DeadLetter.PRESENT, limit=MAX_SELECTION)
            return found.results
        if dlq:
            return list(
                DeadLetter.objects.filter(dlq=dlq, state=DeadLetter.PRESENT).order_by(
                    "sent_at", "id"
                )[:MAX_SELECTION]
            )
        return []
    pks = []
    for raw in ids:
        try:
            pks.append(int(raw))
        except (TypeError, ValueError):
            continue
    return list(
        DeadLetter.objects.filter(pk__in=pks, state=DeadLetter.PRESENT).order_by(
            "dlq", "sent_at", "id"
        )
    )


@dataclass(frozen=True)
class Group:
    dlq: str
    mechanism: str
    target: str
    count: int


@dataclass
class Preview:
    action: str  # redrive | delete
    total: int
    groups: list[Group]
    problems: list[tuple[DeadLetter, str]] = field(default_factory=list)
    stale: int = 0  # snapshots older than STALE_AFTER (the message may be gone)
    sample: list[DeadLetter] = field(default_factory=list)
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "messages": self.total,
            "groups": [g.__dict__ for g in self.groups],
            "cannot_send": len(self.problems),
            "stale_snapshots": self.stale,
        }


def _target(dlq: DeadLetterQueue, letter: DeadLetter, body: str | None = None) -> tuple[str, str]:
    resend = extract.resend_for(
        dlq.mechanism, body or letter.body, letter.message_attributes, source=dlq.source
    )
    return resend.target, resend.problem


_WHAT = {
    "sqs_redrive": "sent to the source queue, then deleted from the DLQ once the send succeeded",
    "eventbridge_rule": "put on its event bus again (every matching rule fires), then deleted",
    "lambda_async": "the function is invoked again asynchronously with the original event",
    "lambda_destination": "the function is invoked again asynchronously with requestPayload",
}


def preview(
    letters: list[DeadLetter], action: str, bodies: dict[int, str] | None = None
) -> Preview:
    """What sending back (or deleting) these messages will do, before anything happens."""
    if not letters:
        raise NothingSelected()
    counts: Counter[tuple[str, str, str]] = Counter()
    problems: list[tuple[DeadLetter, str]] = []
    dlqs: dict[str, DeadLetterQueue] = {}
    now = timezone.now()
    for letter in letters:
        dlq = dlqs.get(letter.dlq)
        if dlq is None:
            try:
                dlq = dlqs[letter.dlq] = dlq_named(letter.dlq)
            except DlqNotFound:
                problems.append((letter, "its DLQ is no longer in the registry"))
                continue
        if action == "redrive":
            target, problem = _target(dlq, letter, (bodies or {}).get(letter.pk))
            if problem:
                problems.append((letter, problem))
                continue
        else:
            target = "deleted"
        counts[(letter.dlq, dlq.mechanism, target)] += 1
    groups = [Group(d, m, t, n) for (d, m, t), n in sorted(counts.items())]
    notes = sorted({_WHAT[g.mechanism] for g in groups if g.mechanism in _WHAT})
    return Preview(
        action=action,
        total=len(letters),
        groups=groups,
        problems=problems,
        stale=sum(1 for d in letters if now - d.last_seen_at > STALE_AFTER),
        sample=letters[:5],
        note="; ".join(notes)
        if action == "redrive"
        else "deleted from the DLQ (the snapshot stays)",
    )


def _validate(actor: Actor, action: str, target: str, ticket: str, reason: str, key: str) -> None:
    require_operator(actor, f"dlq.{action}", target)
    errors: dict[str, list[str]] = {}
    if not ticket.strip():
        errors["ticket"] = ["A ticket reference is required."]
    elif len(ticket) > MAX_TICKET:
        errors["ticket"] = [f"At most {MAX_TICKET} characters."]
    if action == "delete" and not reason.strip():
        errors["reason"] = ["Say why these messages are deleted."]
    if not key:
        errors["idempotency_key"] = ["An idempotency key is required."]
    if errors:
        raise InvalidInput(errors)


def already_submitted(idempotency_key: str) -> Job | None:
    """The job a retry with this key asked for already (the selection may have changed
    since: its messages were sent back by that very job)."""
    if not idempotency_key:
        return None
    return Job.objects.filter(idempotency_key=idempotency_key[:200]).first()


def _job_target(letters: list[DeadLetter]) -> tuple[str, str]:
    names = sorted({d.dlq for d in letters})
    return ("dlq", names[0] if len(names) == 1 else ",".join(names)[:500])


def submit_redrive(
    letters: list[DeadLetter],
    *,
    actor: Actor,
    ticket: str,
    reason: str = "",
    idempotency_key: str,
    rate_per_second: float | None = None,
) -> tuple[Job, bool]:
    """Start sending these messages back (one job; a result per message)."""
    target = _job_target(letters) if letters else ("dlq", "")
    _validate(actor, "redrive", target[1], ticket, reason, idempotency_key)
    if (existing := already_submitted(idempotency_key)) is not None:
        return existing, False
    shown = preview(letters, "redrive")
    sendable = [d for d in letters if d not in {p[0] for p in shown.problems}]
    if not sendable:
        raise InvalidInput({"ids": [f"None of these can be sent back: {shown.problems[0][1]}."]})
    return jobs.submit(
        REDRIVE,
        actor=actor,
        ticket=ticket.strip(),
        reason=reason.strip(),
        params={},
        items=((item_key(d), {"letter": d.pk}) for d in sendable),
        preview=shown.as_json(),
        idempotency_key=idempotency_key,
        rate_per_second=rate_per_second,
        target=target,
    )


def submit_edited(
    letter: DeadLetter,
    edited_text: str,
    *,
    actor: Actor,
    ticket: str,
    reason: str = "",
    idempotency_key: str,
    role: str | None = None,
) -> tuple[Job, bool]:
    """Send one message back with a corrected body; the audit record keeps before, after
    and the diff (masked as the editor saw them)."""
    _validate(actor, "redrive", letter.dlq, ticket, reason, idempotency_key)
    if (existing := already_submitted(idempotency_key)) is not None:
        return existing, False
    mask = present.masker_for(letter, role=role if role is not None else actor.role)
    edit = present.apply_edit(letter, edited_text, mask)
    if edit.problem:
        raise InvalidEdit(problem=edit.problem)
    shown = preview([letter], "redrive", {letter.pk: edit.body})
    if shown.problems:
        raise InvalidEdit(problem=shown.problems[0][1])
    return jobs.submit(
        REDRIVE,
        actor=actor,
        ticket=ticket.strip(),
        reason=reason.strip(),
        params={"edited": True},
        items=[(item_key(letter), {"letter": letter.pk, "body": edit.body})],
        preview={
            **shown.as_json(),
            "edited": True,
            "before": edit.before_masked,
            "after": edit.after_masked,
            "diff": edit.diff,
        },
        idempotency_key=idempotency_key,
        target=("dlq", letter.dlq),
    )


def submit_delete(
    letters: list[DeadLetter],
    *,
    actor: Actor,
    ticket: str,
    reason: str,
    idempotency_key: str,
) -> tuple[Job, bool]:
    """Delete these messages from their DLQs (their snapshots stay, marked deleted)."""
    target = _job_target(letters) if letters else ("dlq", "")
    _validate(actor, "delete", target[1], ticket, reason, idempotency_key)
    if (existing := already_submitted(idempotency_key)) is not None:
        return existing, False
    shown = preview(letters, "delete")
    return jobs.submit(
        DELETE,
        actor=actor,
        ticket=ticket.strip(),
        reason=reason.strip(),
        items=((item_key(d), {"letter": d.pk}) for d in letters),
        preview=shown.as_json(),
        idempotency_key=idempotency_key,
        target=target,
    )
