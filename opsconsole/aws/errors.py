"""Named AWS errors a person can act on."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


class AwsError(Exception):
    """An AWS call failed in a way the console reports to a person."""

    code: str = "AwsError"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class AwsUnavailable(AwsError):
    """The endpoint could not be reached, timed out or kept throttling: try again later."""

    code = "Unavailable"


class PageBudgetSpent(AwsUnavailable):
    """The page has waited its share of AWS time already (clients.interactive)."""


class Throttled(AwsUnavailable):
    code = "ThrottlingException"


class AccessDenied(AwsError):
    code = "AccessDenied"


class ResourceNotFound(AwsError):
    code = "ResourceNotFound"


class QueueNotFound(ResourceNotFound):
    code = "QueueDoesNotExist"


class StateMachineNotFound(ResourceNotFound):
    code = "StateMachineDoesNotExist"


class ExecutionNotFound(ResourceNotFound):
    code = "ExecutionDoesNotExist"


class TaskTokenExpired(AwsError):
    """The waiting step timed out: the token can no longer be answered."""

    code = "TaskTimedOut"


class TaskTokenInvalid(AwsError):
    """The token is unknown or was already answered."""

    code = "InvalidToken"


class ExecutionNotRedrivable(AwsError):
    code = "ExecutionNotRedrivable"


class ExecutionAlreadyExists(AwsError):
    """An execution of that name exists (names are unique per state machine for 90 days)."""

    code = "ExecutionAlreadyExists"


class MoveTaskAlreadyRunning(AwsError):
    """SQS allows one active message move task per queue."""

    code = "MoveTaskAlreadyRunning"


class InvalidRequest(AwsError):
    code = "InvalidRequest"


_THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "ServiceUnavailable",
    "InternalFailure",
    "InternalServerError",
}

_BY_CODE: dict[str, type[AwsError]] = {
    "TaskTimedOut": TaskTokenExpired,
    "InvalidToken": TaskTokenInvalid,
    "TaskDoesNotExist": TaskTokenInvalid,
    "ExecutionDoesNotExist": ExecutionNotFound,
    "StateMachineDoesNotExist": StateMachineNotFound,
    "AWS.SimpleQueueService.NonExistentQueue": QueueNotFound,
    "QueueDoesNotExist": QueueNotFound,
    "ExecutionNotRedrivable": ExecutionNotRedrivable,
    "ExecutionAlreadyExists": ExecutionAlreadyExists,
    "AccessDenied": AccessDenied,
    "AccessDeniedException": AccessDenied,
    "UnauthorizedOperation": AccessDenied,
    "ResourceNotFoundException": ResourceNotFound,
    "ValidationException": InvalidRequest,
    "InvalidParameterValue": InvalidRequest,
    "InvalidArn": InvalidRequest,
    "InvalidName": InvalidRequest,
    "InvalidOutput": InvalidRequest,
}


def translate(exc: Exception, *, operation: str = "") -> AwsError:
    """Map a botocore error to the named exception a caller can handle."""
    where = f" during {operation}" if operation else ""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")) or code
        if code in _THROTTLING:
            return Throttled(f"AWS is throttling{where}: {message}", code=code)
        if code.endswith("UnsupportedOperation") and "move task" in message.lower():
            return MoveTaskAlreadyRunning(message, code=code)
        cls = _BY_CODE.get(code, AwsError)
        return cls(f"{message}{where}", code=code)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError):
        return AwsUnavailable(f"AWS endpoint unreachable{where}: {exc}")
    if isinstance(exc, BotoCoreError):
        return AwsUnavailable(f"AWS call failed{where}: {exc}")
    return AwsError(f"{exc}{where}")


P = ParamSpec("P")
R = TypeVar("R")


def none_when(
    missing: type[AwsError],
) -> Callable[[Callable[P, R]], Callable[P, R | None]]:
    """A look-up that answers None where AWS raises `missing` ("not found" is None)."""

    def decorate(fn: Callable[P, R]) -> Callable[P, R | None]:
        @wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R | None:
            try:
                return fn(*args, **kwargs)
            except missing:
                return None

        return wrapper

    return decorate
