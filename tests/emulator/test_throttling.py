"""The emulator throttles Step Functions like AWS: a token bucket per API, refusing with the
ThrottlingException botocore retries as throttling, and counting what it served and refused."""

from __future__ import annotations

import time

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from opsconsole.aws import clients, stepfunctions
from opsconsole.aws.errors import Throttled
from opsconsole.emulator import server, throttling, world


def _raw_client():
    return boto3.client(
        "stepfunctions",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def test_it_refuses_calls_beyond_the_burst_with_awss_throttling_error(aws):
    built = world.build()
    sfn = _raw_client()
    with throttling.enabled({"ListExecutions": [3, 0.001]}):
        for _ in range(3):
            sfn.list_executions(stateMachineArn=built.order_state_machine_arn)
        with pytest.raises(ClientError) as refused:
            sfn.list_executions(stateMachineArn=built.order_state_machine_arn)
        # Other APIs have buckets of their own.
        sfn.describe_state_machine(stateMachineArn=built.order_state_machine_arn)
        counted = throttling.counters()
    error = refused.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["Error"]["Message"] == "Rate exceeded"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert counted["served"]["ListExecutions"] == 3
    assert counted["throttled"]["ListExecutions"] == 1


def test_it_refills_at_the_configured_rate(aws):
    built = world.build()
    sfn = _raw_client()
    with throttling.enabled({"ListExecutions": [1, 20]}):
        sfn.list_executions(stateMachineArn=built.order_state_machine_arn)
        with pytest.raises(ClientError):
            sfn.list_executions(stateMachineArn=built.order_state_machine_arn)
        time.sleep(0.1)  # 20 a second: two tokens back, capped at the burst of one
        sfn.list_executions(stateMachineArn=built.order_state_machine_arn)
        with pytest.raises(ClientError):
            sfn.list_executions(stateMachineArn=built.order_state_machine_arn)


def test_the_console_sees_a_throttled_call_as_throttling_after_botocores_retries(aws, settings):
    built = world.build()
    settings.AWS_MAX_ATTEMPTS = 2
    clients.reset_clients()
    with throttling.enabled({"ListExecutions": [1, 0.001]}):
        stepfunctions.list_executions_page(built.order_state_machine_arn)
        with pytest.raises(Throttled):
            stepfunctions.list_executions_page(built.order_state_machine_arn)
        # botocore recognised the code as throttling and retried once: two refusals.
        assert throttling.counters()["throttled"]["ListExecutions"] == 2


def test_it_is_off_unless_turned_on(aws):
    built = world.build()
    sfn = _raw_client()
    for _ in range(250):  # beyond the documented burst of 200
        sfn.list_executions(stateMachineArn=built.order_state_machine_arn)


def test_the_aws_defaults_are_the_documented_ones():
    assert throttling.DEFAULTS["DescribeExecution"] == (300, 15)
    assert throttling.DEFAULTS["GetExecutionHistory"] == (400, 20)
    assert throttling.DEFAULTS["ListExecutions"] == (200, 5)


def test_the_server_throttles_when_configured_and_reports_its_counters():
    with server.running(0) as emulator, clients.endpoint_override(emulator.url):
        requests.post(
            f"{emulator.url}/moto-api/config",
            json={
                "stepfunctions": {
                    "execute_state_machine": True,
                    "throttling": {"ListStateMachines": [2, 0.001]},
                }
            },
            timeout=5,
        ).raise_for_status()
        requests.post(f"{emulator.url}/moto-api/throttling", timeout=5).raise_for_status()
        sfn = boto3.client(
            "stepfunctions",
            region_name="eu-west-1",
            endpoint_url=emulator.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        sfn.list_state_machines()
        sfn.list_state_machines()
        with pytest.raises(ClientError) as refused:
            sfn.list_state_machines()
        counted = requests.get(f"{emulator.url}/moto-api/throttling", timeout=5).json()
    assert refused.value.response["Error"]["Code"] == "ThrottlingException"
    assert counted == {
        "served": {"ListStateMachines": 2},
        "throttled": {"ListStateMachines": 1},
    }
