"""Polling CloudWatch: every metric the rules and the dashboard need, in one cycle, with
GetMetricData batches of up to 500 queries (ceil(queries / 500) calls per environment).

What is watched comes from the registry: for every configured queue (approval queues, DLQs
and the queues they serve) the SQS backlog and age of the oldest message; per saga kind's
state machine the Step Functions failures, time-outs and throttles; per EventBridge rule a
DLQ catches for, its failed invocations; per Lambda function a DLQ or destination catches
for, its errors and throttles; and the exact metric of every `signal: metric` rule.
DLQ depths come fresher from SQS attributes (recovery's `dlq_depth` signal).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from opsconsole.aws import cloudwatch, errors
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.registry import Registry, get_registry

from . import series
from .config import alert_rules

log = logging.getLogger(__name__)

SQS_METRICS = ("ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage")
STATES_METRICS = ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionThrottled")
LAMBDA_METRICS = ("Errors", "Throttles")
EVENTS_METRICS = ("FailedInvocations",)
# Counts are summed per period; gauges keep their highest reading.
SUMMED = set(STATES_METRICS) | set(LAMBDA_METRICS) | set(EVENTS_METRICS)
LOOKBACK = timedelta(minutes=10)


@dataclass(frozen=True)
class Watched:
    env: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str = "Maximum"
    period: int = 60

    @property
    def key(self) -> str:
        return series.metric_key(self.namespace, self.metric, dict(self.dimensions), self.stat)


def _stat(metric: str) -> str:
    return "Sum" if metric in SUMMED else "Maximum"


def state_machine_arn(name_or_arn: str, env: AwsEnvironment) -> str:
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    return (
        f"arn:aws:states:{env.region}:{env.account_id or '000000000000'}:stateMachine:{name_or_arn}"
    )


def watched_metrics(registry: Registry) -> list[Watched]:
    """Every metric one poll cycle reads, without duplicates, in a stable order."""
    default_env = next(iter(registry.environments))
    out: dict[str, Watched] = {}

    def add(env: str, namespace: str, metrics: Iterable[str], dims: dict[str, str]) -> None:
        for metric in metrics:
            w = Watched(env, namespace, metric, tuple(sorted(dims.items())), _stat(metric))
            out.setdefault(w.key, w)

    def env_of(kind: str | None) -> str:
        k = registry.kinds.get(kind) if kind else None
        return k.environment if k else default_env

    for q in registry.approval_queues:
        add(env_of(q.kind), "AWS/SQS", SQS_METRICS, {"QueueName": q.queue})
    # DLQs are another feature's section: read by attribute, never by import.
    for dlq in registry.sections.get("dlqs", ()):
        env = env_of(getattr(dlq, "kind", None))
        add(env, "AWS/SQS", SQS_METRICS, {"QueueName": dlq.queue})
        source, mechanism = getattr(dlq, "source", None), getattr(dlq, "mechanism", "")
        if not source:
            continue
        if mechanism == "sqs_redrive":
            add(env, "AWS/SQS", SQS_METRICS, {"QueueName": source})
        elif mechanism == "eventbridge_rule":
            add(env, "AWS/Events", EVENTS_METRICS, {"RuleName": source})
        elif mechanism.startswith("lambda"):
            add(env, "AWS/Lambda", LAMBDA_METRICS, {"FunctionName": source})
    for kind in registry.kinds.values():
        arn = state_machine_arn(kind.state_machine, registry.environments[kind.environment])
        add(kind.environment, "AWS/States", STATES_METRICS, {"StateMachineArn": arn})
    for rule in alert_rules(registry):
        if rule.signal == "metric" and rule.namespace and rule.metric:
            w = Watched(
                default_env,
                rule.namespace,
                rule.metric,
                tuple(sorted(rule.dimensions.items())),
                rule.stat,
                rule.period_seconds,
            )
            out.setdefault(w.key, w)
    return list(out.values())


def _floor(at: datetime, seconds: int) -> datetime:
    epoch = int(at.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=at.tzinfo)


@dataclass
class PollResult:
    queries: int = 0
    calls: int = 0
    samples: int = 0
    errors: int = 0
    seconds: float = 0.0


def poll(
    watched: list[Watched],
    now: datetime,
    environments: dict[str, AwsEnvironment] | None = None,
) -> PollResult:
    """Read every watched metric's recent datapoints and store them as samples."""
    began = time.monotonic()
    environments = environments if environments is not None else get_registry().environments
    result = PollResult(queries=len(watched))
    by_env: dict[str, list[Watched]] = defaultdict(list)
    for w in watched:
        by_env[w.env].append(w)
    points: list[tuple[str, datetime, float]] = []
    # Whole periods (the datapoints' timestamps are period starts): every poll reads the
    # same buckets again, so a late datapoint updates its sample instead of adding one.
    period = max((w.period for w in watched), default=60)
    start = _floor(now - LOOKBACK, period)
    end = _floor(now, period) + timedelta(seconds=period)
    for env_name, items in by_env.items():
        env = environments.get(env_name)
        queries = [
            cloudwatch.MetricQuery(
                id=f"q{i}",
                namespace=w.namespace,
                metric=w.metric,
                dimensions=w.dimensions,
                stat=w.stat,
                period=w.period,
            )
            for i, w in enumerate(items)
        ]
        try:
            got = cloudwatch.get_metric_data(queries, start, end, env)
        except errors.AwsError as exc:
            log.warning("metric poll of %s failed: %s", env_name, exc)
            result.errors += 1
            points.append((series.console_key("aws_errors", {"service": "cloudwatch"}), now, 1.0))
            continue
        result.calls += -(-len(queries) // cloudwatch.METRIC_QUERIES_PER_CALL)
        for i, w in enumerate(items):
            s = got.get(f"q{i}")
            if s is None:
                continue
            points.extend(
                (w.key, at, value) for at, value in zip(s.timestamps, s.values, strict=True)
            )
    result.seconds = time.monotonic() - began
    points.append(
        (series.console_key("poll_duration_seconds"), now.replace(microsecond=0), result.seconds)
    )
    result.samples = series.write(points)
    return result


def poll_all(now: datetime) -> PollResult:
    return poll(watched_metrics(get_registry()), now)
