"""The clients the gateways share: assumed-role credentials that renew themselves, and two
profiles (a page's short one, background work's patient one)."""

from __future__ import annotations

import pytest

from opsconsole.aws import clients
from opsconsole.aws.clients import AwsEnvironment

ROLE = "arn:aws:iam::123456789012:role/opsconsole-reader"


def test_it_renews_assumed_role_credentials_before_they_expire(aws, settings):
    # The shortest session STS grants lies inside botocore's refresh window, so the next
    # use of the credentials must assume the role again instead of signing with old keys.
    settings.AWS_ROLE_SESSION_SECONDS = 900
    env = AwsEnvironment(name="prod", region="eu-west-1", role_arn=ROLE)
    credentials = clients.credentials_of(env)
    first = credentials.access_key
    assert credentials.method == "sts-assume-role"
    renewed = credentials.get_frozen_credentials()
    assert renewed.access_key != first
    assert renewed.token
    # and calls go on working with what was renewed
    assert clients.client("sqs", env).list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_it_keeps_assumed_role_credentials_while_they_are_fresh(aws, settings):
    settings.AWS_ROLE_SESSION_SECONDS = 3600
    env = AwsEnvironment(name="prod", region="eu-west-1", role_arn=ROLE)
    credentials = clients.credentials_of(env)
    assert credentials.get_frozen_credentials().access_key == credentials.access_key


def test_it_names_the_role_it_could_not_assume(settings):
    from opsconsole.aws.errors import AwsUnavailable

    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.AWS_MAX_ATTEMPTS = 1
    clients.reset_clients()
    env = AwsEnvironment(name="prod", region="eu-west-1", role_arn=ROLE)
    with pytest.raises(AwsUnavailable, match="AssumeRole"):
        clients.credentials_of(env)
    clients.reset_clients()
