"""Keeps the demo world moving: a new order or closure every few seconds, some failing,
some waiting for a person, now and then a dead letter. Stoppable, bounded, and it never
takes the demo down: an AWS error is logged and the next tick tries again."""

from __future__ import annotations

import json
import logging
import random
import threading
import time

from opsconsole.aws import provisioning, stepfunctions

from . import seed
from .world import World

log = logging.getLogger(__name__)

# Live outcomes: mostly orders that go through, some that fail or wait for an approver.
ORDER_MIX: tuple[tuple[str, int], ...] = (
    ("succeeded", 62),
    ("declined", 9),
    ("stock_short", 6),
    ("needs_review", 5),
    ("waiting", 8),
    ("timed_out", 4),
)
CLOSURE_SHARE = 0.12  # closures wait for a human approver, so they come less often
DEAD_LETTER_SHARE = 0.05


class TrafficGenerator:
    """Start with `start()`, end with `stop()`; at most `limit` sagas per run."""

    def __init__(
        self,
        built: World,
        *,
        interval: float = 4.0,
        limit: int = 2000,
        first_order: int = 20000,
        first_account: int = 5000,
        rng_seed: int | None = None,
    ) -> None:
        self.world = built
        self.interval = interval
        self.limit = limit
        self.started = 0
        self.errors = 0
        self._next_order = first_order
        self._next_account = first_account
        self._rnd = random.Random(rng_seed)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> TrafficGenerator:
        self._thread = threading.Thread(target=self._run, name="demo-traffic", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        failures_in_a_row = 0
        while not self._stop.is_set() and self.started < self.limit:
            try:
                self.tick()
                failures_in_a_row = 0
            except Exception as exc:  # noqa: BLE001 - the demo must outlive any AWS hiccup
                self.errors += 1
                failures_in_a_row += 1
                log.warning("traffic: %s (will try again)", exc)
            # Back off while the emulator is unhappy; jitter so ticks don't look mechanical.
            pause = self.interval * (0.5 + self._rnd.random()) * min(2**failures_in_a_row, 16)
            self._stop.wait(pause)
        if self.started >= self.limit:
            log.info("traffic: reached its limit of %d sagas; the world stays as it is", self.limit)

    def tick(self) -> str:
        """Start one saga (and sometimes drop a dead letter); return what was started."""
        if self._rnd.random() < DEAD_LETTER_SHARE:
            self._dead_letter()
        if self._rnd.random() < CLOSURE_SHARE:
            return self._closure()
        return self._order()

    def _order(self) -> str:
        order_id = str(self._next_order)
        self._next_order += 1
        outcome = seed._pick(ORDER_MIX, self._rnd)
        initiator = seed.user("oscar.operator@example.com") if self._rnd.random() < 0.1 else None
        planned = seed._order(order_id, outcome, int(order_id), initiator)
        placed_at = int(time.time())
        stepfunctions.start_execution(
            self.world.order_state_machine_arn,
            seed.execution_name("orders", order_id, placed_at),
            planned.payload,
        )
        # The intake's OrderPlaced: its rule finds the saga already started under the same
        # name (what a replay of the archive finds too).
        seed.publish_order_events([planned], placed_at)
        self.started += 1
        return f"order {order_id} ({outcome})"

    def _closure(self) -> str:
        account_id = str(self._next_account)
        self._next_account += 1
        outcome = "waiting"
        planned = seed._closure(account_id, outcome)
        seed._create_accounts([planned])
        stepfunctions.start_execution(
            self.world.closure_state_machine_arn,
            seed.execution_name("closures", account_id),
            planned.payload,
        )
        self.started += 1
        return f"closure {account_id} ({outcome})"

    def _dead_letter(self) -> None:
        order_id = str(self._next_order - 1)
        corr = seed.correlation_id_for("orders", order_id)
        body = {
            "orderId": order_id,
            "operation": "capture",
            "correlationId": corr,
            "failedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        url = self.world.queue_urls["payments-dlq"]
        provisioning.send_messages(
            url,
            [provisioning.OutgoingMessage(json.dumps(body), (("correlationId", corr),))],
        )
