"""Recovery's codes in the one error mapping (registered from `RecoveryConfig.ready()`)."""

from __future__ import annotations

from opsconsole.web.problems import ErrorSpec

from .jobs import JobNotFound, JobStateConflict

ERROR_SPECS: dict[str, ErrorSpec] = {
    JobNotFound.code: ErrorSpec(404, "Job not found", "No such job."),
    JobStateConflict.code: ErrorSpec(
        409, "Not possible in this state", "This job is {state}: it cannot {action} now."
    ),
}
