"""Celery tasks: thin, acks_late, safe to run twice (see engine.py and notify.py)."""

from __future__ import annotations

import contextlib
from typing import Any

from celery import shared_task
from celery.signals import task_failure
from django.utils import timezone

from opsconsole.aws import budget

# Every task's AWS calls (CloudWatch's GetMetricData, SQS attributes of signals) are charged
# to the monitoring share of the budget (opsconsole.aws.budget).


@shared_task(name="opsconsole.monitoring.tasks.poll_metrics", ignore_result=True, acks_late=True)
@budget.charged_to("monitoring")
def poll_metrics() -> dict[str, Any]:
    from . import polling

    r = polling.poll_all(timezone.now())
    return {"queries": r.queries, "calls": r.calls, "samples": r.samples, "errors": r.errors}


@shared_task(name="opsconsole.monitoring.tasks.evaluate_alerts", ignore_result=True, acks_late=True)
@budget.charged_to("monitoring")
def evaluate_alerts() -> dict[str, Any]:
    from . import engine

    return engine.tick(timezone.now())


@shared_task(name="opsconsole.monitoring.tasks.notify_alerts", ignore_result=True, acks_late=True)
@budget.charged_to("monitoring")
def notify_alerts() -> int:
    from . import notify

    return notify.process(timezone.now())


@shared_task(name="opsconsole.monitoring.tasks.keep_samples", ignore_result=True, acks_late=True)
@budget.charged_to("monitoring")
def keep_samples() -> dict[str, int]:
    from . import retention

    now = timezone.now()
    return {"rolled_up": retention.rollup(now), **retention.prune(now)}


@task_failure.connect
def _count_failure(sender: Any = None, **_: Any) -> None:
    """Every failed task is a sample of the console's own `task_failures` series."""
    from . import series

    name = getattr(sender, "name", "unknown")
    # Counting a failure must not fail anything.
    with contextlib.suppress(Exception):
        series.write([(series.console_key("task_failures", {"task": name}), timezone.now(), 1.0)])
