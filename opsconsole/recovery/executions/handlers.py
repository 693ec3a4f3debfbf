"""The job handlers of bulk redrive and restart (opsconsole.recovery.jobs).

Each item is one saga; doing it is `bulk.run_item`, which goes through the single-saga action
with the idempotency key of its job and saga. That makes every step safe to repeat: a rerun
item finds its action already claimed and at most sends it again with the same client token
or execution name, which AWS answers without acting twice. So `recover` simply puts
interrupted items back, and no saga is redriven or restarted twice."""

from __future__ import annotations

from opsconsole.recovery import jobs
from opsconsole.recovery.models import JobItem

from . import bulk
from .models import ActionKind


class _SagaActions(jobs.Handler):
    action: str = ""
    chunk_size = 10

    def run_chunk(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        ctx.checkpoint(items, step="acting")
        for item, (outcome, result) in zip(
            items, bulk.run_items(ctx.job, items, self.action), strict=True
        ):
            if outcome == "waiting":
                ctx.waiting(item, **result)
            elif outcome == "skipped":
                ctx.skipped(item, reason=str(result.pop("reason", "")), **result)
            else:
                ctx.failed(item, error=str(result.pop("error", "")), **result)

    def recover(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        # Acting again is the same action (same idempotency key, same token or name).
        for item in items:
            ctx.retry(item)

    def verify(self, ctx: jobs.Context, items: list[JobItem]) -> None:
        for item in items:
            found = bulk.verify_item(item)
            if found is None:
                continue
            outcome, result = found
            if outcome == "succeeded":
                ctx.succeeded(item, **result)
            else:
                ctx.failed(item, error=str(result.pop("error", "")), **result)


class RedriveSagas(_SagaActions):
    kind = bulk.JOB_KINDS[ActionKind.REDRIVE]
    label = "Redrive sagas from their failed step"
    action = ActionKind.REDRIVE


class RestartSagas(_SagaActions):
    kind = bulk.JOB_KINDS[ActionKind.RESTART]
    label = "Restart sagas with the same input"
    action = ActionKind.RESTART


def register() -> None:
    jobs.register(RedriveSagas())
    jobs.register(RestartSagas())
