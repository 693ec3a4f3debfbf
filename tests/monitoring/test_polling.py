"""Polling CloudWatch the real way: the emulator publishes what AWS would, the poller reads
it with GetMetricData in batches of 500 queries, and the samples feed the rules."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from opsconsole.aws import clients, cloudwatch
from opsconsole.monitoring import polling, series
from opsconsole.monitoring.models import Sample
from opsconsole.registry import get_registry

pytestmark = pytest.mark.django_db


class Counting:
    """The CloudWatch client, counting the GetMetricData calls and their queries."""

    def __init__(self, real, counted):
        self.real, self.counted = real, counted

    def get_metric_data(self, **params):
        self.counted.append(len(params["MetricDataQueries"]))
        return self.real.get_metric_data(**params)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture
def calls(monkeypatch):
    counted: list[int] = []
    real = clients.client
    monkeypatch.setattr(
        cloudwatch, "client", lambda service, env=None: Counting(real(service, env), counted)
    )
    return counted


@pytest.mark.parametrize("queues", [1, 250, 1000])
def test_it_polls_every_metric_in_ceil_queries_over_500_calls(aws, calls, queues):
    now = datetime.now(UTC).replace(microsecond=0)
    data = [
        cloudwatch.Datum(
            "ApproximateNumberOfMessagesVisible", float(i), (("QueueName", f"q{i}"),), now
        )
        for i in range(queues)
    ]
    cloudwatch.put_metrics("AWS/SQS", data)
    env = next(iter(get_registry().environments.values()))
    watched = [
        polling.Watched(env.name, "AWS/SQS", m, (("QueueName", f"q{i}"),))
        for i in range(queues)
        for m in polling.SQS_METRICS
    ] + [
        polling.Watched(env.name, "AWS/States", m, (("StateMachineArn", f"arn:sm{i}"),), "Sum")
        for i in range(10)
        for m in polling.STATES_METRICS
    ]
    result = polling.poll(watched, now + timedelta(seconds=30))
    assert len(calls) == math.ceil(len(watched) / 500) == result.calls
    assert max(calls) <= 500
    visible = series.metric_key(
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": f"q{queues - 1}"}, "Maximum"
    )
    assert Sample.objects.get(series=visible).value == queues - 1


def test_it_watches_the_registrys_queues_state_machines_and_rule_metrics(aws):
    keys = {w.key for w in polling.watched_metrics(get_registry())}
    assert (
        series.metric_key(
            "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "payments-dlq"}, "Maximum"
        )
        in keys
    )
    assert (
        series.metric_key(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "order-approvals"},
            "Maximum",
        )
        in keys
    )
    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:OrderFulfillment"
    assert (
        series.metric_key("AWS/States", "ExecutionsFailed", {"StateMachineArn": arn}, "Sum") in keys
    )
    assert (
        series.metric_key(
            "AWS/Events", "FailedInvocations", {"RuleName": "order-events-to-warehouse"}, "Sum"
        )
        in keys
    )


def test_the_emulator_publishes_what_aws_would_and_the_poller_reads_it(aws):
    from opsconsole.aws import provisioning
    from opsconsole.emulator import metrics, world

    built = world.build()
    provisioning.send_messages(
        built.queue_urls["payments-dlq"],
        [provisioning.OutgoingMessage('{"orderId": "1"}', ())] * 3,
    )
    now = datetime.now(UTC)
    assert metrics.MetricsPublisher(built).publish(now) > 0
    polling.poll_all(now + timedelta(seconds=5))
    depth = series.metric_key(
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "payments-dlq"}, "Maximum"
    )
    assert Sample.objects.filter(series=depth).latest("at").value == 3
