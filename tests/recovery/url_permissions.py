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


# --- dead-letter queues ----------------------------------------------------------------


def _dlq() -> dict[str, Any]:
    return {"name": "payments-dlq"}


def _letter() -> dict[str, Any]:
    from tests.recovery.dlq_factories import make_letter

    return {"pk": make_letter().pk}


def _one_letter() -> dict[str, Any]:
    from tests.recovery.dlq_factories import make_letter

    make_letter()
    return {}


def _saga() -> dict[str, Any]:
    from tests.sagas.factories import make_saga

    return {"saga_id": make_saga(key="8847").pk}


URL_PERMISSIONS.update(
    {
        "recovery:dlq": page("viewer", kwargs=_dlq),
        "recovery:dlq_look": page(
            "operator", method="POST", ok=302, kwargs=_dlq, fixtures=("aws",)
        ),
        # Without the confirmation box ticked nothing starts: back to the DLQ page.
        "recovery:dlq_move_start": page("operator", method="POST", ok=302, kwargs=_dlq),
        "recovery:dlq_move_cancel": page(
            "operator", method="POST", ok=302, kwargs=_dlq, fixtures=("aws",)
        ),
        "recovery:dlq_move_progress": page("viewer", kwargs=_dlq, fixtures=("aws",)),
        "recovery:dlq_message": page("viewer", kwargs=_letter),
        "recovery:dlq_message_download": page("viewer", kwargs=_letter),
        "recovery:dlq_edit": page("operator", kwargs=_letter),
        "recovery:dlq_search": page("viewer", query="q=8847"),
        "recovery:dlq_saga_panel": page("viewer", kwargs=_saga),
        # Nothing selected: back where the person came from, with the reason.
        "recovery:dlq_send_back": page("operator", method="POST", ok=302),
        "api-dlqs": api("viewer"),
        "api-dlq-messages": api("viewer", kwargs=_dlq),
        # No such queue in an empty world: AWS's refusal, after the role check.
        "api-dlq-look": api("operator", method="POST", ok=424, kwargs=_dlq, fixtures=("aws",)),
        "api-dlq-move-tasks": api("viewer", kwargs=_dlq, fixtures=("aws",)),
        "api-dlq-move-task-cancel": api(
            "operator",
            method="POST",
            ok=424,
            kwargs=_dlq,
            data={"handle": "no-such-task"},
            fixtures=("aws",),
        ),
        "api-dead-letters": api("viewer", query="q=8847"),
        "api-dead-letter": api("viewer", kwargs=_letter),
        "api-dead-letters-redrive": api(
            "operator",
            method="POST",
            kwargs=_one_letter,
            data={"q": "8847", "all_matching": True, "dry_run": True},
        ),
        "api-dead-letters-delete": api(
            "operator",
            method="POST",
            kwargs=_one_letter,
            data={"q": "8847", "all_matching": True, "dry_run": True},
        ),
        # No ticket: refused before anything happens (after the role check).
        "api-dead-letter-redrive-edited": api(
            "operator", method="POST", ok=400, kwargs=_letter, data={"body": "{}"}
        ),
    }
)
