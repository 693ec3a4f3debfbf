from celery import shared_task

from opsconsole.aws import budget

from . import actions
from .jobs import run_job, tend_jobs

__all__ = ["poll_dlq_depths", "run_job", "tend_jobs"]


# Every task charges its AWS calls to a share of the budget (opsconsole.aws.budget): the
# DLQ depths are polling for the dlq_depth signal (monitoring), the rest is recovery work
# (jobs.run and verify_waiting charge theirs to recovery themselves).


@shared_task(name="opsconsole.recovery.tasks.poll_dlq_depths", ignore_result=True)
@budget.charged_to("monitoring")
def poll_dlq_depths() -> int:
    return actions.poll_dlq_depths()


@shared_task(name="opsconsole.recovery.tasks.snapshot_dead_letters", ignore_result=True)
@budget.charged_to("recovery")
def snapshot_dead_letters() -> int:
    """Read (and put back) the messages of every DLQ that holds some, keeping snapshots."""
    from .dlq.actions import snapshot_all

    return snapshot_all()


@shared_task(
    name="opsconsole.recovery.tasks.verify_recovery_actions", ignore_result=True, acks_late=True
)
@budget.charged_to("recovery")
def verify_recovery_actions() -> int:
    """Resend lost recovery sends; mark actions done once their saga ended."""
    from .executions.actions import verify

    return verify().finished


@shared_task(name="opsconsole.recovery.tasks.poll_replays", ignore_result=True, acks_late=True)
@budget.charged_to("recovery")
def poll_replays() -> int:
    """Progress of the console's active archive replays, from DescribeReplay."""
    from .replays.actions import poll_active

    return poll_active()
