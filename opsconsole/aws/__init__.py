"""The AWS gateway: the only package that imports boto3.

Gateways take domain arguments and return frozen dataclasses; errors a person can act on
are named exceptions from `opsconsole.aws.errors`; "not found" is `None`.
"""

from .clients import AwsEnvironment, default_environment

__all__ = ["AwsEnvironment", "default_environment"]
