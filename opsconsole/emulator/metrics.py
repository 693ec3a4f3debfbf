"""The `AWS/*` metrics AWS would publish for the world, which moto does not generate.

`MetricsPublisher` reads the world's queues and state machines the way CloudWatch sees them
and publishes with PutMetricData (through the gateway, like any client):

- AWS/SQS, per queue: ApproximateNumberOfMessagesVisible, ...NotVisible, and
  ApproximateAgeOfOldestMessage (SQS attributes carry no age: it is the time since the queue
  last went from empty to non-empty, which is what the metric shows for a stuck queue);
- AWS/States, per state machine: ExecutionsStarted, ExecutionsSucceeded, ExecutionsFailed,
  ExecutionsTimedOut, ExecutionsAborted (executions that ended since the last publish) and
  ExecutionThrottled (0: the emulator never throttles an execution);
- AWS/Events, per rule: FailedInvocations (events that landed in its DLQ since the last
  publish) and Invocations (0 when unknown).

So the console's polling path is the real one end to end: PutMetricData in, GetMetricData
out (moto's GetMetricData is indexed by `cloudwatch_index.py`).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from opsconsole.aws import cloudwatch, sqs, stepfunctions

from .world import ORDER_EVENTS_RULE, RULE_DLQ, World

log = logging.getLogger(__name__)


ENDED = {
    "SUCCEEDED": "ExecutionsSucceeded",
    "FAILED": "ExecutionsFailed",
    "TIMED_OUT": "ExecutionsTimedOut",
    "ABORTED": "ExecutionsAborted",
}
# How far back one publish looks for executions that ended (a bound on the pages read).
MAX_EXECUTIONS_PER_STATUS = 1000


class MetricsPublisher:
    """Publish the world's AWS metrics every `interval` seconds (`start`/`stop`), or once
    (`publish`)."""

    def __init__(self, built: World, *, interval: float = 30.0) -> None:
        self.world = built
        self.interval = interval
        self.published = 0
        self._non_empty_since: dict[str, datetime] = {}
        self._last: datetime | None = None
        self._rule_dlq_depth: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> MetricsPublisher:
        self._thread = threading.Thread(target=self._run, name="demo-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.publish()
            except Exception as exc:  # noqa: BLE001 - the demo outlives an emulator hiccup
                log.warning("metrics: %s (will try again)", exc)
            self._stop.wait(self.interval)

    def publish(self, now: datetime | None = None) -> int:
        """Read the world once and publish its metrics; returns the data points published."""
        now = now or datetime.now(UTC)
        since = self._last or now - timedelta(seconds=self.interval)
        sqs_data = self._queues(now)
        states_data = self._state_machines(since, now)
        events_data = self._rules(now)
        total = 0
        for namespace, data in (
            ("AWS/SQS", sqs_data),
            ("AWS/States", states_data),
            ("AWS/Events", events_data),
        ):
            if data:
                cloudwatch.put_metrics(namespace, data)
                total += len(data)
        self._last = now
        self.published += total
        return total

    def _queues(self, now: datetime) -> list[cloudwatch.Datum]:
        data = []
        for name, url in sorted(self.world.queue_urls.items()):
            stats = sqs.queue_stats(url)
            if stats.visible + stats.in_flight > 0:
                first = self._non_empty_since.setdefault(name, now)
            else:
                self._non_empty_since.pop(name, None)
                first = now
            dims = (("QueueName", name),)
            data += [
                cloudwatch.Datum("ApproximateNumberOfMessagesVisible", stats.visible, dims, now),
                cloudwatch.Datum(
                    "ApproximateNumberOfMessagesNotVisible", stats.in_flight, dims, now
                ),
                cloudwatch.Datum(
                    "ApproximateAgeOfOldestMessage",
                    (now - first).total_seconds(),
                    dims,
                    now,
                    "Seconds",
                ),
            ]
        return data

    def _state_machines(self, since: datetime, now: datetime) -> list[cloudwatch.Datum]:
        data = []
        for arn in (self.world.order_state_machine_arn, self.world.closure_state_machine_arn):
            dims = (("StateMachineArn", arn),)
            started = 0
            for i, e in enumerate(stepfunctions.iter_executions(arn)):
                if e.started_at <= since or i >= MAX_EXECUTIONS_PER_STATUS:
                    break
                started += 1
            data.append(cloudwatch.Datum("ExecutionsStarted", started, dims, now))
            for status, metric in ENDED.items():
                ended = 0
                for i, e in enumerate(stepfunctions.iter_executions(arn, status=status)):
                    if i >= MAX_EXECUTIONS_PER_STATUS:
                        break
                    if e.stopped_at is not None and since < e.stopped_at <= now:
                        ended += 1
                data.append(cloudwatch.Datum(metric, ended, dims, now))
            data.append(cloudwatch.Datum("ExecutionThrottled", 0, dims, now))
        return data

    def _rules(self, now: datetime) -> list[cloudwatch.Datum]:
        url = self.world.queue_urls.get(RULE_DLQ)
        if not url or not self.world.rule_arn:
            return []
        depth = sqs.queue_stats(url).visible
        failed = max(0, depth - self._rule_dlq_depth) if self._rule_dlq_depth is not None else 0
        self._rule_dlq_depth = depth
        dims = (("RuleName", ORDER_EVENTS_RULE),)
        return [cloudwatch.Datum("FailedInvocations", failed, dims, now)]
