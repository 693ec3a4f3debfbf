"""Permission-matrix entries for the recovery pages and API (see tests/identity/matrix.py)."""

from __future__ import annotations

from typing import Any

from tests.identity.matrix import Access, api, page


def _job(state: str = "running") -> dict[str, Any]:
    """A job nobody is working (no runner), so pausing or cancelling it is allowed."""
    from opsconsole.recovery.models import Job, JobItem

    job = Job.objects.create(
        kind="test.matrix",
        state=state,
        idempotency_key=f"matrix-{Job.objects.count()}-{state}",
        actor_type="user",
        actor="olga@example.com",
        actor_role="operator",
        total=1,
        pending=1,
    )
    JobItem.objects.create(job=job, seq=0, key="item-0")
    return {"pk": job.pk}


def _paused_job() -> dict[str, Any]:
    return _job("paused")


URL_PERMISSIONS: dict[str, Access] = {
    "recovery:jobs": page("viewer"),
    "recovery:job": page("viewer", kwargs=_job),
    "recovery:job_pause": page("operator", method="POST", ok=302, kwargs=_job),
    "recovery:job_resume": page("operator", method="POST", ok=302, kwargs=_paused_job),
    "recovery:job_cancel": page("operator", kwargs=_job),
    "api-jobs": api("viewer"),
    "api-job": api("viewer", kwargs=_job),
    "api-job-items": api("viewer", kwargs=_job),
    # One job serves every caller: the first allowed caller steers it, the next ones get
    # the clear 409 of a job already paused, resumed or cancelled.
    "api-job-pause": api("operator", method="POST", ok=(200, 409), kwargs=_job),
    "api-job-resume": api("operator", method="POST", ok=(200, 409), kwargs=_paused_job),
    "api-job-cancel": api("operator", method="POST", ok=(200, 409), kwargs=_job),
}

# Execution recovery and archive replays keep their entries in a module of their own.
from tests.recovery.url_permissions_executions import URL_PERMISSIONS as _EXECUTIONS  # noqa: E402

URL_PERMISSIONS.update(_EXECUTIONS)
