from celery import shared_task

from . import actions


@shared_task(name="opsconsole.recovery.tasks.poll_dlq_depths", ignore_result=True)
def poll_dlq_depths() -> int:
    return actions.poll_dlq_depths()
