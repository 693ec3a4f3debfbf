"""The traffic generator keeps starting sagas, stops when asked, and survives AWS errors."""

from __future__ import annotations

import dataclasses

from opsconsole.aws import stepfunctions
from opsconsole.emulator import traffic
from tests.helpers import wait_until


def test_it_starts_new_sagas_until_its_limit(built):
    generator = traffic.TrafficGenerator(built, interval=0.01, limit=4, rng_seed=7).start()
    wait_until(lambda: not generator.running, timeout=30, what="the generator to reach its limit")
    names = [
        e.name
        for arn in (built.order_state_machine_arn, built.closure_state_machine_arn)
        for e in stepfunctions.iter_executions(arn)
    ]
    assert len(names) == 4 == generator.started
    assert all(n.startswith(("order-2", "closure-5")) for n in names)


def test_it_survives_aws_errors_and_stops_when_asked(built):
    broken = dataclasses.replace(
        built,
        order_state_machine_arn=built.order_state_machine_arn + "-gone",
        closure_state_machine_arn=built.closure_state_machine_arn + "-gone",
    )
    generator = traffic.TrafficGenerator(broken, interval=0.001, limit=10, rng_seed=1).start()
    wait_until(lambda: generator.errors >= 2, timeout=30, what="errors to be absorbed")
    assert generator.running
    generator.stop(timeout=10)
    assert not generator.running
    assert generator.started == 0
