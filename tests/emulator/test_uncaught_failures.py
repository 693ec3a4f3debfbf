"""The demo world's uncaught failures end FAILED at the Task that failed, so a redrive after
`demo_fix` resumes there and the saga succeeds; without the fix it fails again at that step.
Compensated failures still end in a Fail state (what restart is for)."""

from __future__ import annotations

import pytest

from opsconsole.aws import dynamodb, stepfunctions
from opsconsole.emulator import fixes, seed, world
from tests.helpers import wait_until


def _ended(arn: str, *, after: int = 0) -> stepfunctions.Execution:
    def done():
        found = stepfunctions.describe_execution(arn)
        if found and found.status != "RUNNING" and found.redrive_count >= after:
            return found
        return None

    return wait_until(done, timeout=40, interval=0.2, what="the execution to end")


def _entered(history: list[stepfunctions.HistoryEvent], state: str) -> int:
    return sum(
        1 for e in history if e.type.endswith("StateEntered") and e.details.get("name") == state
    )


def _last_failed_state(history: list[stepfunctions.HistoryEvent]) -> str:
    entered = [e.details.get("name") for e in history if e.type.endswith("StateEntered")]
    return str(entered[-1])


@pytest.fixture
def built(aws):
    return world.build()


def test_a_parked_order_is_redriven_at_the_step_that_gave_up_and_confirms_after_the_fix(built):
    planned = seed._order("8847", "needs_review", 8847)
    arn = stepfunctions.start_execution(
        built.order_state_machine_arn, seed.execution_name("orders", "8847", 1), planned.payload
    )
    failed = _ended(arn)
    assert failed.status == "FAILED"
    assert failed.error == "DynamoDB.ConditionalCheckFailedException"  # uncaught, no Fail state
    assert failed.redrive_status == "REDRIVABLE"
    first = stepfunctions.get_execution_history(arn)
    assert _last_failed_state(first) == "RebookShipment"
    meta = dynamodb.get_item(world.ORDERS_TABLE, {"pk": "ORDER#8847", "sk": "META"})
    assert meta["status"] == "NEEDS_REVIEW"  # charged, not shipped: a person looks at it
    payment = dynamodb.get_item(world.ORDERS_TABLE, {"pk": "ORDER#8847", "sk": "PAYMENT"})
    assert payment["status"] == "CHARGED"  # nothing was unwound

    # Redriven before the slot is reopened: it fails again, at the same step.
    stepfunctions.redrive_execution(arn, "before-the-fix")
    again = _ended(arn, after=1)
    assert (again.status, again.redrive_count) == ("FAILED", 1)
    assert _last_failed_state(stepfunctions.get_execution_history(arn)) == "RebookShipment"

    fixes.reopen_slot()
    stepfunctions.redrive_execution(arn, "after-the-fix")
    done = _ended(arn, after=2)
    assert (done.status, done.redrive_count) == ("SUCCEEDED", 2)
    history = stepfunctions.get_execution_history(arn)
    # The same execution's history, continued: the first run's events are still there, the
    # completed steps did not run again, the redriven ones did.
    assert [e.id for e in history[: len(first)]] == [e.id for e in first]
    assert [e.id for e in history] == list(range(1, len(history) + 1))
    assert sum(1 for e in history if e.type == "ExecutionRedriven") == 2
    assert _entered(history, "ValidateOrder") == 1
    assert _entered(history, "ChargePayment") == 1
    assert _entered(history, "RebookShipment") == 3
    assert _entered(history, "MarkConfirmed") == 1
    meta = dynamodb.get_item(world.ORDERS_TABLE, {"pk": "ORDER#8847", "sk": "META"})
    assert meta["status"] == "CONFIRMED"


def test_a_closure_that_failed_in_handle_billing_is_redriven_there_after_the_fix(built):
    planned = seed._closure("79", "failed_billing", seed.user("oscar.operator@example.com"))
    seed._create_accounts([planned])
    arn = stepfunctions.start_execution(
        built.closure_state_machine_arn, seed.execution_name("closures", "79", 1), planned.payload
    )
    assert seed.answer_approvals(built, {"closure-approvals": {"79": "approve"}}) == {"79"}
    failed = _ended(arn)
    assert failed.status == "FAILED"
    assert failed.redrive_status == "REDRIVABLE"
    assert _last_failed_state(stepfunctions.get_execution_history(arn)) == "HandleBilling"

    stepfunctions.redrive_execution(arn, "unfixed")
    again = _ended(arn, after=1)
    assert again.status == "FAILED"
    assert _last_failed_state(stepfunctions.get_execution_history(arn)) == "HandleBilling"

    fixes.clear_billing_error("79")
    stepfunctions.redrive_execution(arn, "fixed")
    done = _ended(arn, after=2)
    assert done.status == "SUCCEEDED"
    history = stepfunctions.get_execution_history(arn)
    assert _entered(history, "AnonymizeUserData") == 1  # never anonymized twice
    assert _entered(history, "HandleBilling") == 3
    profile = dynamodb.get_item(world.ACCOUNTS_TABLE, {"pk": "ACCOUNT#79", "sk": "PROFILE"})
    assert profile["status"] == "deleted"


def test_a_compensated_order_still_ends_in_a_fail_state(built):
    planned = seed._order("8843", "declined", 8843)
    arn = stepfunctions.start_execution(
        built.order_state_machine_arn, seed.execution_name("orders", "8843", 1), planned.payload
    )
    failed = _ended(arn)
    assert failed.status == "FAILED"
    history = stepfunctions.get_execution_history(arn)
    assert _last_failed_state(history) == "OrderCompensated"
    assert _entered(history, "ReleaseInventory") == 1
