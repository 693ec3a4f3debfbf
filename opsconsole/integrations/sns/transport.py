"""Publish to an SNS topic through the AWS gateway (background client profile)."""

from __future__ import annotations

from opsconsole.aws import sns
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.aws.errors import AwsError

from ..transports import Sent, TransportError, excerpt

# Codes for which retrying cannot help (the topic is gone or we may not publish to it).
PERMANENT_CODES = {"NotFound", "NotFoundException", "AuthorizationError", "InvalidParameter"}


class SnsTransport:
    def __init__(self, topic_arn: str, env: AwsEnvironment | None = None) -> None:
        self.topic_arn = topic_arn
        self.env = env

    def notify(self, subject: str, message: str, attributes: dict[str, str]) -> Sent:
        try:
            message_id = sns.publish(
                self.topic_arn, message, subject=subject, attributes=attributes, env=self.env
            )
        except AwsError as exc:
            raise TransportError(
                f"{exc.code}: {excerpt(str(exc))}", permanent=exc.code in PERMANENT_CODES
            ) from None
        return Sent(response_excerpt=f"MessageId {message_id}", reference=message_id)
