"""SNS: publishing notifications."""

from __future__ import annotations

from .clients import AwsEnvironment, aws_call, client


@aws_call("Publish")
def publish(
    topic_arn: str,
    message: str,
    subject: str | None = None,
    attributes: dict[str, str] | None = None,
    env: AwsEnvironment | None = None,
) -> str:
    """Publish a message to a topic; return its MessageId."""
    kwargs: dict[str, object] = {"TopicArn": topic_arn, "Message": message[:262144]}
    if subject:
        kwargs["Subject"] = subject[:100]
    if attributes:
        kwargs["MessageAttributes"] = {
            k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
        }
    return str(client("sns", env).publish(**kwargs)["MessageId"])


@aws_call("ListTopics")
def list_topics(env: AwsEnvironment | None = None) -> list[str]:
    """Every topic ARN."""
    paginator = client("sns", env).get_paginator("list_topics")
    return [t["TopicArn"] for page in paginator.paginate() for t in page.get("Topics", [])]
