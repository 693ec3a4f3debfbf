"""Lambda: invoking a function asynchronously again with a dead letter's payload."""

from __future__ import annotations

from dataclasses import dataclass

from .clients import AwsEnvironment, aws_call, client


@dataclass(frozen=True)
class AsyncInvocation:
    function: str
    status_code: int  # 202 when Lambda queued the event
    request_id: str


@aws_call("Invoke")
def invoke_async(function: str, payload: str, env: AwsEnvironment | None = None) -> AsyncInvocation:
    """Queue one asynchronous invocation (InvocationType Event) with `payload` as the event."""
    response = client("lambda", env).invoke(
        FunctionName=function, InvocationType="Event", Payload=payload.encode()
    )
    return AsyncInvocation(
        function=function,
        status_code=int(response.get("StatusCode", 0)),
        request_id=str(response.get("ResponseMetadata", {}).get("RequestId", "")),
    )
