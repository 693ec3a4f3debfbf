"""The approvals tests' world: the demo state machines in in-process moto, and helpers that
start an order or a closure which stops at its approval step."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from opsconsole.aws import dynamodb, sqs, stepfunctions
from opsconsole.emulator import world as demo_world
from tests.approvals.factories import GatewayCalls
from tests.helpers import wait_until

SERVICE = {"type": "service", "id": "storefront"}


@dataclass
class ApprovalWorld:
    world: demo_world.World

    def start_order(
        self,
        order_id: str,
        amount: float = 1240.0,
        *,
        initiator: dict[str, str] | None = None,
        timeout_seconds: int | None = None,
        currency: str = "EUR",
    ) -> str:
        payload: dict[str, Any] = {
            "meta": {
                "messageType": "command",
                "commandName": "CreateOrder",
                "commandId": str(uuid.uuid4()),
                "correlationId": f"corr-{order_id}",
                "tenantId": "demo",
                "initiator": initiator or SERVICE,
            },
            "data": {
                "orderId": order_id,
                "amount": amount,
                "currency": currency,
                "customer": {"id": f"cust-{order_id}", "email": f"c{order_id}@example.com"},
                "items": [{"sku": "MUG-01", "qty": 1}],
                "payment": {"token": "tok_visa"},
                "shipping": {"postcode": "AB1 2CD", "address": "1 Demo Street"},
            },
        }
        if timeout_seconds:
            payload["options"] = {"approvalTimeoutSeconds": timeout_seconds}
        return stepfunctions.start_execution(
            self.world.order_state_machine_arn, f"order-{order_id}-{uuid.uuid4().hex[:6]}", payload
        )

    def start_closure(self, account_id: str, *, initiator: dict[str, str] | None = None) -> str:
        key = f"ACCOUNT#{account_id}"
        dynamodb.put_item(
            demo_world.ACCOUNTS_TABLE,
            {"pk": key, "sk": "PROFILE", "status": "active", "email": f"a{account_id}@example.com"},
        )
        dynamodb.put_item(demo_world.ACCOUNTS_TABLE, {"pk": key, "sk": "BILLING", "status": "open"})
        payload = {
            "meta": {
                "messageType": "command",
                "commandName": "CloseAccount",
                "commandId": str(uuid.uuid4()),
                "correlationId": f"corr-acct-{account_id}",
                "tenantId": "demo",
                "initiator": initiator or {"type": "user", "id": "support@example.com"},
            },
            "data": {"accountId": account_id, "email": f"a{account_id}@example.com"},
        }
        return stepfunctions.start_execution(
            self.world.closure_state_machine_arn,
            f"closure-{account_id}-{uuid.uuid4().hex[:6]}",
            payload,
        )

    def wait_for_messages(self, queue: str, n: int = 1) -> None:
        """Until `n` approval messages wait in `queue` (the execution reached its step)."""
        wait_until(
            lambda: sqs.queue_stats(queue).visible >= n,
            timeout=20,
            what=f"{n} message(s) in {queue}",
        )

    def status(self, arn: str) -> str:
        execution = stepfunctions.describe_execution(arn)
        assert execution is not None
        return execution.status

    def wait_done(self, arn: str, timeout: float = 20) -> str:
        wait_until(lambda: self.status(arn) != "RUNNING", timeout=timeout, what=f"{arn} to stop")
        return self.status(arn)

    def order_status(self, order_id: str) -> str | None:
        item = dynamodb.get_item(demo_world.ORDERS_TABLE, {"pk": f"ORDER#{order_id}", "sk": "META"})
        return item.get("status") if item else None

    def account_status(self, account_id: str) -> str | None:
        item = dynamodb.get_item(
            demo_world.ACCOUNTS_TABLE, {"pk": f"ACCOUNT#{account_id}", "sk": "PROFILE"}
        )
        return item.get("status") if item else None


@pytest.fixture
def approval_world(aws: None, db: None) -> ApprovalWorld:
    return ApprovalWorld(world=demo_world.build())


def execution_output(arn: str) -> Any:
    execution = stepfunctions.describe_execution(arn)
    assert execution is not None
    return json.loads(execution.output) if execution.output else None


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> GatewayCalls:
    calls = GatewayCalls()
    monkeypatch.setattr(stepfunctions, "send_task_success", calls.send_task_success)
    monkeypatch.setattr(stepfunctions, "send_task_failure", calls.send_task_failure)
    return calls
