"""The status a person reads, derived without AWS."""

from __future__ import annotations

import pytest

from sagas.models import SagaStatus
from sagas.status import StatusInputs, derive_status

APPROVAL = frozenset({"AwaitApproval"})


@pytest.mark.parametrize(
    ("inputs", "expected"),
    [
        (StatusInputs("RUNNING", "PENDING", "ChargePayment"), SagaStatus.RUNNING),
        (
            StatusInputs("RUNNING", "PENDING", "AwaitApproval", callback_pending=True),
            SagaStatus.WAITING,
        ),
        (StatusInputs("RUNNING", "", "AwaitApproval", approval_steps=APPROVAL), SagaStatus.WAITING),
        (StatusInputs("SUCCEEDED", "CONFIRMED"), SagaStatus.SUCCEEDED),
        (
            StatusInputs("FAILED", "CANCELLED_COMPENSATED", compensation_ran=True),
            SagaStatus.COMPENSATED,
        ),
        (StatusInputs("FAILED", "", compensation_ran=True), SagaStatus.COMPENSATED),
        (StatusInputs("FAILED", "NEEDS_REVIEW", "BookShipment"), SagaStatus.NEEDS_REVIEW),
        (StatusInputs("FAILED", "active", "AwaitClosureApproval"), SagaStatus.FAILED),
        (StatusInputs("FAILED", "pending_deletion", compensation_ran=True), SagaStatus.FAILED),
        (StatusInputs("TIMED_OUT", "PENDING"), SagaStatus.TIMED_OUT),
        (
            StatusInputs(
                "FAILED", "CANCELLED_COMPENSATED", compensation_ran=True, error="ApprovalTimedOut"
            ),
            SagaStatus.TIMED_OUT,
        ),
        (StatusInputs("FAILED", "", error="States.Timeout"), SagaStatus.TIMED_OUT),
        (StatusInputs("ABORTED", "CANCELLED_COMPENSATED"), SagaStatus.ABORTED),
        (StatusInputs("PENDING_REDRIVE", "NEEDS_REVIEW"), SagaStatus.RUNNING),
    ],
)
def test_it_derives_the_status_a_person_expects(inputs, expected):
    assert derive_status(inputs) == expected
