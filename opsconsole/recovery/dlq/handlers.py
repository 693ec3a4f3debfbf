"""Sending dead letters back, and deleting them, as resumable jobs (opsconsole.recovery.jobs).

One job item per message (key `<dlq>/<message id>`, payload: the snapshot's id and, for an
edited message, the body to send). A chunk of items:

1. holds the messages: every DLQ message is an SQS message, deleted only by a receipt
   handle, which a receive gives. Receipts still held from an earlier chunk are used as
   they are; otherwise the DLQ is received from (messages held invisible for HOLD seconds),
   the receipts of every message this job wants are kept on their snapshots (later chunks
   use them), and messages the job does not want are made visible again at once.
2. checkpoints the held items as "sending" (committed), then sends: SQS SendMessageBatch
   to the source queue, EventBridge PutEvents to the bus, or Lambda Invoke (Event).
3. checkpoints what was sent as "sent" (with the new id), then deletes those messages from
   the DLQ, and only those: a message whose send failed stays in the DLQ (released at once).

A killed worker leaves items RUNNING with their checkpoint; `recover` reads it: "sent"
items are deleted from the DLQ now (never sent again); "sending" items may or may not have
reached their source (the worker died during the send call, which no API can tell
afterwards), so they are neither sent again nor deleted: they fail with that said, and stay
in the DLQ for a person (0 lost, 0 duplicated; at most one batch in that state per kill).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from opsconsole import events
from opsconsole.audit.log import Actor
from opsconsole.aws import awslambda, sqs
from opsconsole.aws import errors as aws_errors
from opsconsole.aws import events as aws_events

from .. import jobs
from ..models import DeadLetter, JobItem
from . import extract
from .actions import dlq_named, env_of

log = logging.getLogger(__name__)

REDRIVE = "dlq.redrive"
DELETE = "dlq.delete"
HOLD_SECONDS = 300  # how long a redrive keeps the messages it took invisible
MARGIN = timedelta(seconds=60)  # a receipt closer than this to its end is not used
MAX_HARVEST_CALLS = 300  # receives per pass at most (3,000 messages)
HARVEST = 1000  # messages of the job a pass holds at most
MARKER = "opsconsole-redrive"  # message attribute naming the job and item on a resent message


def item_key(letter: DeadLetter) -> str:
    return f"{letter.dlq}/{letter.message_id}"


def _actor(job: Any) -> Actor:
    return Actor(type=job.actor_type, id=job.actor, role=job.actor_role)


def _hold(ctx: jobs.Context, dlq_name: str, items: list[JobItem]) -> dict[int, DeadLetter]:
    """The items' snapshots, each with a receipt handle valid for a while, where the message
    could be found in the DLQ (missing items are left out)."""
    ids = {item.pk: int(item.payload["letter"]) for item in items}
    letters = {d.pk: d for d in DeadLetter.objects.filter(pk__in=ids.values())}
    now = timezone.now()

    def usable(d: DeadLetter) -> bool:
        return bool(d.receipt_handle) and d.held_until is not None and d.held_until > now + MARGIN

    wanted = {
        letters[i].message_id for i in ids.values() if i in letters and not usable(letters[i])
    }
    if wanted:
        dlq = dlq_named(dlq_name)
        env = env_of(dlq)
        # Every message this job still has to act on, so one pass serves later chunks too.
        open_keys = set(
            JobItem.objects.filter(
                job=ctx.job,
                state__in=(JobItem.PENDING, JobItem.RUNNING),
                key__startswith=f"{dlq_name}/",
            ).values_list("key", flat=True)
        )
        found: dict[str, sqs.Message] = {}
        others: list[str] = []
        # Hold up to HARVEST messages of the job in one pass (later chunks use them), so the
        # DLQ's other messages, released at the end, are received again only once per pass.
        enough = min(HARVEST, len(open_keys))
        try:
            for _ in range(MAX_HARVEST_CALLS // 10):
                batch, _until = sqs.hold_messages(
                    dlq.queue, hold_seconds=HOLD_SECONDS, max_calls=10, env=env
                )
                for m in batch:
                    if f"{dlq_name}/{m.message_id}" in open_keys:
                        found[m.message_id] = m
                    else:
                        others.append(m.receipt_handle)
                if (wanted <= set(found) and len(found) >= enough) or len(batch) < 100:
                    break
        finally:
            if others:
                try:
                    sqs.release_messages(dlq.queue, others, env)
                except aws_errors.AwsError as exc:  # they come back by themselves
                    log.warning("could not release messages of %s: %s", dlq_name, exc)
        until = timezone.now() + timedelta(seconds=HOLD_SECONDS)
        if found:
            rows = list(DeadLetter.objects.filter(dlq=dlq_name, message_id__in=list(found)))
            for row in rows:
                row.receipt_handle = found[row.message_id].receipt_handle
                row.held_until = until
            _store_receipts(rows)
            for row in rows:
                if row.pk in letters:
                    letters[row.pk] = row
    return {pk: letters[i] for pk, i in ids.items() if i in letters and usable(letters[i])}


def _store_receipts(rows: list[DeadLetter]) -> None:
    """Keep the receipt handles on the snapshots: one statement run for every row (a
    bulk_update of a thousand rows costs seconds of expression building)."""
    table = DeadLetter._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET receipt_handle = %s, held_until = %s WHERE id = %s",  # noqa: S608
            [(r.receipt_handle, r.held_until, r.pk) for r in rows],
        )


def _checkpoint(items: list[JobItem], step: str, **data: Any) -> None:
    """The same checkpoint for every item, committed at once in one UPDATE (what
    `Context.checkpoint` does, without a per-row CASE). The per-message facts it needs
    after a crash (the receipt) are on the snapshot rows."""
    for item in items:
        item.checkpoint = {**item.checkpoint, "step": step, **data}
    JobItem.objects.filter(pk__in=[i.pk for i in items]).update(
        checkpoint={"step": step, **data}, updated_at=timezone.now()
    )


def _release(dlq_name: str, letters: list[DeadLetter]) -> None:
    """Make messages we will not act on now visible again, and forget their receipts."""
    handles = [d.receipt_handle for d in letters if d.receipt_handle]
    if not handles:
        return
    dlq = dlq_named(dlq_name)
    try:
        sqs.release_messages(dlq.queue, handles, env_of(dlq))
    except aws_errors.AwsError as exc:
        log.warning("could not release messages of %s: %s", dlq_name, exc)
    DeadLetter.objects.filter(pk__in=[d.pk for d in letters]).update(
        receipt_handle="", held_until=None
    )


def _delete_from_dlq(dlq_name: str, letters: dict[int, DeadLetter]) -> dict[int, str | None]:
    """Delete held messages from the DLQ: item pk -> None when deleted, else the error."""
    dlq = dlq_named(dlq_name)
    env = env_of(dlq)
    out: dict[int, str | None] = {}
    pairs = list(letters.items())
    for start in range(0, len(pairs), 10):
        chunk = dict(pairs[start : start + 10])
        try:
            outcome = sqs.delete_message_batch(
                dlq.queue, {str(pk): d.receipt_handle for pk, d in chunk.items()}, env
            )
        except aws_errors.AwsError as exc:
            out.update(dict.fromkeys(chunk, str(exc)[:300]))
            continue
        for pk in chunk:
            out[pk] = outcome.failed.get(str(pk)) if str(pk) not in outcome.succeeded else None
    return out


def _mark(letters: list[DeadLetter], state: str, job: Any) -> None:
    if not letters:
        return
    DeadLetter.objects.filter(pk__in=[d.pk for d in letters]).update(
        state=state,
        state_changed_at=timezone.now(),
        state_by=job.actor,
        state_reason=job.reason,
        ticket=job.ticket,
        receipt_handle="",
        held_until=None,
    )


def _by_dlq(items: list[JobItem]) -> dict[str, list[JobItem]]:
    groups: dict[str, list[JobItem]] = defaultdict(list)
    for item in items:
        groups[item.key.split("/", 1)[0]].append(item)
    return groups


# --- sending back -----------------------------------------------------------------------


def _send(
    dlq_name: str,
    held: dict[int, DeadLetter],
    items: dict[int, JobItem],
    job: Any,
    checkpoint: Callable[[list[int], str], None],
) -> dict[int, tuple[str | None, str | None, str]]:
    """Send each held message to where it came from: item pk -> (new id, error, target).

    Each send call (a batch of up to ten, or one invocation) is checkpointed "sending"
    before and "sent" after, so a worker killed during a call leaves at most that call's
    messages in doubt."""
    dlq = dlq_named(dlq_name)
    env = env_of(dlq)
    out: dict[int, tuple[str | None, str | None, str]] = {}
    sqs_batches: dict[str, list[tuple[int, sqs.MessageToSend]]] = defaultdict(list)
    bus_batches: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for pk, letter in held.items():
        body = items[pk].payload.get("body") or letter.body
        resend = extract.resend_for(
            dlq.mechanism, body, letter.message_attributes, source=dlq.source
        )
        if resend.problem:
            out[pk] = (None, f"cannot be sent back: {resend.problem}", "")
            continue
        if dlq.mechanism == "sqs_redrive":
            attributes = dict(letter.message_attributes)
            attributes[MARKER] = f"{job.pk}:{items[pk].pk}"
            sqs_batches[resend.target].append(
                (pk, sqs.MessageToSend(id=str(pk), body=resend.body, attributes=attributes))
            )
        elif dlq.mechanism == "eventbridge_rule" and resend.event is not None:
            bus_batches[resend.target].append((pk, resend.event))
        else:
            checkpoint([pk], "sending")
            try:
                invocation = awslambda.invoke_async(resend.target, resend.body, env)
            except aws_errors.AwsError as exc:
                out[pk] = (None, str(exc)[:300], resend.target)
            else:
                if invocation.status_code == 202:
                    out[pk] = (invocation.request_id or "accepted", None, resend.target)
                    checkpoint([pk], "sent")
                else:
                    out[pk] = (None, f"Lambda answered {invocation.status_code}", resend.target)
    for target, entries in sqs_batches.items():
        for start in range(0, len(entries), 10):
            chunk = entries[start : start + 10]
            checkpoint([pk for pk, _ in chunk], "sending")
            try:
                outcome = sqs.send_message_batch(target, [m for _, m in chunk], env)
            except aws_errors.AwsError as exc:
                for pk, _ in chunk:
                    out[pk] = (None, str(exc)[:300], target)
                continue
            for pk, _ in chunk:
                new_id = outcome.succeeded.get(str(pk))
                out[pk] = (
                    new_id,
                    None if new_id else outcome.failed.get(str(pk), "not sent"),
                    target,
                )
            checkpoint([pk for pk, _ in chunk if out[pk][0]], "sent")
    for bus, events_to_put in bus_batches.items():
        for start in range(0, len(events_to_put), 10):
            puts = events_to_put[start : start + 10]
            checkpoint([pk for pk, _ in puts], "sending")
            try:
                put = aws_events.put_entries(bus, [e for _, e in puts], env)
            except aws_errors.AwsError as exc:
                for pk, _ in puts:
                    out[pk] = (None, str(exc)[:300], bus)
                continue
            for (pk, _), event_id, error in zip(puts, put.event_ids, put.errors, strict=False):
                out[pk] = (event_id, None if event_id and not error else (error or "not put"), bus)
            checkpoint([pk for pk, _ in puts if out[pk][0]], "sent")
    return out


class RedriveMessages(jobs.Handler):
    kind = REDRIVE
    label = "Send dead letters back"
    chunk_size = 50

    def run_chunk(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        for dlq_name, group in _by_dlq(items).items():
            self._run_group(ctx, dlq_name, group)

    def _run_group(self, ctx: jobs.Context, dlq_name: str, items: list[JobItem]) -> None:
        by_pk = {item.pk: item for item in items}
        try:
            held = _hold(ctx, dlq_name, items)
        except aws_errors.AwsError as exc:
            for item in items:
                ctx.failed(item, error=f"could not read the DLQ: {exc}"[:300], sent=False)
            return
        for item in items:
            if item.pk not in held:
                ctx.failed(
                    item,
                    error="not found in the DLQ (in flight elsewhere, expired or already gone); "
                    "nothing was sent",
                    sent=False,
                )
        if not held:
            return

        def checkpoint(pks: list[int], step: str) -> None:
            if pks:
                _checkpoint([by_pk[pk] for pk in pks], step)  # committed at once

        sent = _send(dlq_name, held, by_pk, ctx.job, checkpoint)
        delivered = {pk: v for pk, v in sent.items() if v[0]}
        for pk, (_new_id, error, target) in sent.items():
            if pk not in delivered:
                ctx.failed(by_pk[pk], error=error or "not sent", sent=False, target=target)
        _release(dlq_name, [held[pk] for pk in sent if pk not in delivered])
        if not delivered:
            return
        new_ids = {pk: (new_id, target) for pk, (new_id, _e, target) in delivered.items()}
        self._finish_sent(ctx, dlq_name, {pk: held[pk] for pk in delivered}, by_pk, new_ids)

    def _finish_sent(
        self,
        ctx: jobs.Context,
        dlq_name: str,
        held: dict[int, DeadLetter],
        by_pk: dict[int, JobItem],
        new_ids: dict[int, tuple[str | None, str]] | None = None,
    ) -> None:
        deleted = _delete_from_dlq(dlq_name, held)
        done = []
        for pk, error in deleted.items():
            item = by_pk[pk]
            new_id, target = (new_ids or {}).get(pk, (None, ""))
            result = {
                "sent": True,
                "new_id": new_id,  # unknown after a crash between the send and the delete
                "target": target,
                "letter": held[pk].pk,
            }
            if new_ids is None:
                result["recovered"] = True
            if error is None:
                ctx.succeeded(item, **result)
            else:
                ctx.failed(
                    item,
                    error=f"sent, but still in the DLQ (delete failed: {error}); do not send "
                    "it again, delete it",
                    **result,
                )
            done.append(held[pk])
        _mark(done, DeadLetter.REDRIVEN, ctx.job)

    def recover(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        sent: dict[str, dict[int, DeadLetter]] = defaultdict(dict)
        in_doubt: dict[str, list[DeadLetter]] = defaultdict(list)
        by_pk = {item.pk: item for item in items}
        letters = {
            d.pk: d
            for d in DeadLetter.objects.filter(pk__in=[int(i.payload["letter"]) for i in items])
        }
        for item in items:
            step = item.checkpoint.get("step")
            letter = letters.get(int(item.payload["letter"]))
            if not step:
                ctx.retry(item)
            elif step == "sent" and letter is not None:
                sent[item.key.split("/", 1)[0]][item.pk] = letter  # its receipt is on the row
            else:
                ctx.failed(
                    item,
                    error="interrupted while sending: it may or may not have reached its source. "
                    "It is still in the DLQ; check the source before sending it again",
                    sent=None,
                    ambiguous=True,
                )
                if letter is not None:
                    in_doubt[item.key.split("/", 1)[0]].append(letter)
        for dlq_name, held in sent.items():
            self._finish_sent(ctx, dlq_name, held, by_pk)
        for dlq_name, letters_in_doubt in in_doubt.items():
            # Visible in the DLQ again now, for the person who checks them (not in 5 min).
            _release(dlq_name, letters_in_doubt)


# --- deleting ---------------------------------------------------------------------------


class DeleteMessages(jobs.Handler):
    kind = DELETE
    label = "Delete dead letters"
    chunk_size = 50

    def run_chunk(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        for dlq_name, group in _by_dlq(items).items():
            by_pk = {item.pk: item for item in group}
            try:
                held = _hold(ctx, dlq_name, group)
            except aws_errors.AwsError as exc:
                for item in group:
                    ctx.failed(item, error=f"could not read the DLQ: {exc}"[:300])
                continue
            for item in group:
                if item.pk not in held:
                    ctx.failed(item, error="not found in the DLQ (in flight, expired or gone)")
            deleted = _delete_from_dlq(dlq_name, held)
            done = []
            for pk, error in deleted.items():
                if error is None:
                    ctx.succeeded(by_pk[pk], letter=held[pk].pk)
                    done.append(held[pk])
                else:
                    ctx.failed(by_pk[pk], error=error)
            _mark(done, DeadLetter.DELETED, ctx.job)

    def recover(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        for item in items:  # deleting again is harmless: a gone message is reported as such
            ctx.retry(item)


# --- events -----------------------------------------------------------------------------


def on_job_finished(event: events.DomainEvent) -> None:
    """Tell subscribers what a send-back or delete job did, once, when it ends."""
    kind = event.data.get("kind")
    if kind not in (REDRIVE, DELETE):
        return
    job = jobs.get(event.target.id)
    counts = event.data.get("counts") or {}
    done = list(
        JobItem.objects.filter(job=job, state=JobItem.SUCCEEDED).values_list("key", flat=True)[:100]
    )
    events.emit(
        "dlq.messages_redriven" if kind == REDRIVE else "dlq.messages_deleted",
        target=events.Target(
            type="dlq",
            id=job.target_id,
            label=job.target_id,
            url=f"/recovery/dlq/{job.target_id}/" if "/" not in job.target_id else "",
        ),
        actor=_actor(job),
        data={
            "job": job.pk,
            "job_url": f"/recovery/jobs/{job.pk}/",
            "state": event.data.get("state"),
            "succeeded": counts.get("succeeded", 0),
            "failed": counts.get("failed", 0),
            "messages": done,
            "ticket": job.ticket,
            "reason": job.reason,
        },
    )


def register() -> None:
    jobs.register(RedriveMessages())
    jobs.register(DeleteMessages())
    events.subscribe("dlq.job_outcome", on_job_finished, types=["job.finished"])
