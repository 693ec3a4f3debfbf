from celery import shared_task

from . import actions
from .jobs import run_job, tend_jobs

__all__ = ["poll_dlq_depths", "run_job", "tend_jobs"]


@shared_task(name="opsconsole.recovery.tasks.poll_dlq_depths", ignore_result=True)
def poll_dlq_depths() -> int:
    return actions.poll_dlq_depths()
