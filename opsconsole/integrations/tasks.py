"""Thin Celery wrappers: safe to run twice (a delivery is claimed before it is sent)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from celery import shared_task

from . import delivery

log = logging.getLogger(__name__)


# After its own row, a task goes on with other due rows for up to this long: delivery keeps
# pace with a burst even when the broker hands out one task per poll (the embedded one).
DRAIN_SECONDS = 5.0


@shared_task(name="opsconsole.integrations.tasks.deliver", acks_late=True, ignore_result=True)
def deliver(pk: int) -> str:
    outcome = _attempt(pk)
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        more = delivery.next_due()
        if more is None or _attempt(more) == "skipped" and delivery.next_due() == more:
            break
    return outcome


def _attempt(pk: int) -> str:
    outcome, retry_in = delivery.attempt(pk)
    if retry_in is not None and retry_in <= delivery.COUNTDOWN_LIMIT:
        schedule([pk], countdown=retry_in)
    return outcome


@shared_task(name="opsconsole.integrations.tasks.sweep", acks_late=True, ignore_result=True)
def sweep() -> int:
    """Queue what is due and has no task on the way (a lost task, a dead worker, a long
    retry); the claim keeps a row queued twice from being sent twice."""
    pks = delivery.due()
    schedule(pks)
    return len(pks)


def schedule(ids: Iterable[int], countdown: float | None = None) -> None:
    """Queue one delivery task per row; a broker hiccup is logged, the sweep catches up."""
    for pk in ids:
        try:
            if countdown:
                deliver.apply_async(args=[pk], countdown=countdown)
            else:
                deliver.delay(pk)
        except Exception as exc:  # the row is safe in the outbox; the sweep sends it
            log.warning("could not queue delivery %s (%s); the sweep will", pk, exc)
