"""The demo world's downstream services: the warehouse (order-events), the courier booking
service (shipments), the mailer (closure-emails) and the payments worker (payments).

They receive and delete what the sagas send, so work queues behave like production ones:
a backlog drains, and a message redriven from a DLQ gets consumed ("the downstream is
fixed"). It also keeps the emulator fast: moto counts a queue's messages on every send, so
a queue that only ever grows makes every execution slower.
"""

from __future__ import annotations

import logging
import threading

from opsconsole.aws import provisioning, sqs

from .world import World

log = logging.getLogger(__name__)

CONSUMED_QUEUES = ("order-events", "shipments", "closure-emails", "payments")


class Consumers:
    """One daemon thread per work queue, receiving and deleting as fast as messages come."""

    def __init__(
        self, built: World, *, queues: tuple[str, ...] = CONSUMED_QUEUES, interval: float = 1.0
    ) -> None:
        self.urls = [built.queue_urls[name] for name in queues]
        self.interval = interval
        self.consumed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Consumers:
        for url in self.urls:
            thread = threading.Thread(
                target=self._run,
                args=(url,),
                name=f"demo-consumer-{url.rsplit('/', 1)[-1]}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _run(self, url: str) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                got = self.consume_batch(url)
                failures = 0
            except Exception as exc:  # noqa: BLE001 - a consumer outlives an emulator hiccup
                failures += 1
                if failures in (1, 10, 100):
                    log.warning("consumer of %s: %s (will keep trying)", url, exc)
                got = 0
            # Keep up while there is a backlog (moto scans the whole queue on every call, so
            # a queue must stay short); rest when it is empty, longer while AWS is unhappy.
            if not got:
                self._stop.wait(self.interval * min(2**failures, 30))

    def consume_batch(self, url: str) -> int:
        """Receive up to 10 messages and delete them; return how many."""
        messages = sqs.receive_messages(url, max_messages=10, visibility_timeout=30)
        if messages:
            provisioning.delete_messages(url, [m.receipt_handle for m in messages])
            with self._lock:
                self.consumed += len(messages)
        return len(messages)

    def drain(self) -> int:
        """Consume every queue until it is empty (tests, and before a benchmark)."""
        total = 0
        for url in self.urls:
            while got := self.consume_batch(url):
                total += got
        return total
