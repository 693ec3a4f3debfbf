"""Metric poll: 1,000 queues and 100 state machines in one cycle <= 10 s, with exactly
ceil(queries / 500) GetMetricData calls (DESIGN.md, "Numbers we hold ourselves to").

The emulator in server mode (moto, with the indexed GetMetricData of
opsconsole/emulator/cloudwatch_index.py) holds 10 minutes of per-minute data points for
every queue (visible messages, age of the oldest) and state machine (failed, timed out,
throttled), published with PutMetricData; one `polling.poll` reads them all and stores the
samples in the database (SQLite, scratch dir).

    .venv/bin/python bench/monitoring_poll.py [--queues 1000] [--machines 100] [--no-write]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT  # noqa: E402, F401  (sets Django up)
from _monitoring_common import write_block  # noqa: E402
from django.core.management import call_command  # noqa: E402

TARGET_SECONDS = 10.0


def run(queues: int, machines: int, cycles: int) -> dict[str, float]:
    from opsconsole.aws import clients, cloudwatch
    from opsconsole.aws.clients import AwsEnvironment
    from opsconsole.emulator import server
    from opsconsole.monitoring import polling
    from opsconsole.monitoring.models import Sample

    call_command("migrate", verbosity=0)
    env = AwsEnvironment(name="bench", region="eu-west-1", account_id="123456789012")
    with server.running(0) as running, clients.endpoint_override(running.url):
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        sqs_data, states_data = [], []
        for minute in range(10):
            at = now - timedelta(minutes=minute)
            for i in range(queues):
                dims = (("QueueName", f"queue-{i}"),)
                sqs_data.append(
                    cloudwatch.Datum("ApproximateNumberOfMessagesVisible", i % 7, dims, at)
                )
                sqs_data.append(cloudwatch.Datum("ApproximateAgeOfOldestMessage", 30.0, dims, at))
            for i in range(machines):
                dims = (("StateMachineArn", f"arn:aws:states:eu-west-1:1:stateMachine:sm-{i}"),)
                for metric in polling.STATES_METRICS:
                    states_data.append(cloudwatch.Datum(metric, i % 2, dims, at))
        began = time.monotonic()
        cloudwatch.put_metrics("AWS/SQS", sqs_data, env)
        cloudwatch.put_metrics("AWS/States", states_data, env)
        put_seconds = time.monotonic() - began
        watched = [
            polling.Watched("bench", "AWS/SQS", m, (("QueueName", f"queue-{i}"),))
            for i in range(queues)
            for m in polling.SQS_METRICS
        ] + [
            polling.Watched(
                "bench",
                "AWS/States",
                m,
                (("StateMachineArn", f"arn:aws:states:eu-west-1:1:stateMachine:sm-{i}"),),
                "Sum",
            )
            for i in range(machines)
            for m in polling.STATES_METRICS
        ]
        counted: list[int] = []
        real = cloudwatch.client

        class Counting:
            def __init__(self, inner: object) -> None:
                self.inner = inner

            def get_metric_data(self, **params: object) -> object:
                counted.append(len(params["MetricDataQueries"]))  # type: ignore[arg-type]
                return self.inner.get_metric_data(**params)  # type: ignore[attr-defined]

        cloudwatch.client = lambda service, e=None: Counting(real(service, e))  # type: ignore[assignment,misc]
        times, calls = [], []
        try:
            for _ in range(cycles):
                counted.clear()
                began = time.monotonic()
                result = polling.poll(watched, now + timedelta(seconds=30), {"bench": env})
                times.append(time.monotonic() - began)
                calls.append(len(counted))
        finally:
            cloudwatch.client = real  # type: ignore[assignment]
        samples = Sample.objects.count()
    return {
        "queues": queues,
        "machines": machines,
        "queries": len(watched),
        "points": len(sqs_data) + len(states_data),
        "put_seconds": put_seconds,
        "median": statistics.median(times),
        "max": max(times),
        "calls": max(calls),
        "calls_min": min(calls),
        "expected_calls": math.ceil(len(watched) / 500),
        "samples": samples,
        "stored_per_cycle": result.samples,
        "cycles": cycles,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queues", type=int, default=1000)
    parser.add_argument("--machines", type=int, default=100)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    r = run(args.queues, args.machines, args.cycles)
    ok = r["max"] <= TARGET_SECONDS and r["calls"] == r["calls_min"] == r["expected_calls"]
    print(
        f"poll: {r['queries']} queries, {r['calls']} GetMetricData calls "
        f"(expected {r['expected_calls']}), cycle median {r['median']:.2f} s, max {r['max']:.2f} s"
    )
    if not args.no_write:
        write_block(
            "Metric poll (bench/monitoring_poll.py)",
            [
                f"{r['queues']} queues (2 SQS metrics each) and {r['machines']} state machines "
                f"(3 Step Functions metrics each): {r['queries']} queries over "
                f"{r['points']:,} data points (10 minutes at 1 per minute), the emulator in "
                f"server mode, {r['cycles']} cycles, {datetime.now(UTC):%Y-%m-%d}.",
                "",
                "| measure | value | target |",
                "|---|---|---|",
                f"| one poll cycle (GetMetricData + storing {r['stored_per_cycle']:,} samples) "
                f"| median {r['median']:.2f} s, max {r['max']:.2f} s | <= {TARGET_SECONDS:.0f} s "
                f"({'met' if r['max'] <= TARGET_SECONDS else 'MISSED'}) |",
                f"| GetMetricData calls per cycle | {r['calls']} | ceil({r['queries']}/500) = "
                f"{r['expected_calls']} ({'met' if ok else 'MISSED'}) |",
                f"| publishing the data points (PutMetricData, 1,000 a call) | "
                f"{r['put_seconds']:.1f} s | |",
            ],
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
