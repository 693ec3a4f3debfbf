from celery import shared_task

from . import actions
from .jobs import run_job, tend_jobs

__all__ = ["poll_dlq_depths", "run_job", "tend_jobs"]


@shared_task(name="opsconsole.recovery.tasks.poll_dlq_depths", ignore_result=True)
def poll_dlq_depths() -> int:
    return actions.poll_dlq_depths()


@shared_task(name="opsconsole.recovery.tasks.snapshot_dead_letters", ignore_result=True)
def snapshot_dead_letters() -> int:
    """Read (and put back) the messages of every DLQ that holds some, keeping snapshots."""
    from .dlq.actions import snapshot_all

    return snapshot_all()
