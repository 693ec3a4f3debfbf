"""What a dead letter says, read from its body and attributes: pure functions, no I/O.

Four mechanisms land four shapes (see DOMAIN.md "Where failures go"): the original message
(SQS redrive policy), the event with EventBridge's error attributes (rule DLQ), the event with
Lambda's error attributes (async DLQ), and an invocation record with request and response
context (Lambda on-failure destination). Each is read for the ids a person searches by
(business key, correlation id), why it failed, and what to send back where.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from opsconsole.registry import SagaKind, json_path_get

# The message attributes each mechanism's error is carried in.
EVENTBRIDGE_ATTRIBUTES = ("RULE_ARN", "TARGET_ARN", "ERROR_CODE", "ERROR_MESSAGE")
LAMBDA_ATTRIBUTES = ("RequestID", "ErrorCode", "ErrorMessage")
CORRELATION_ATTRIBUTES = ("correlationId", "correlation_id", "CorrelationId", "x-correlation-id")
MAX_JSON_PARSE = 1_100_000  # bodies up to 1 MiB are parsed


@dataclass(frozen=True)
class Reading:
    """A dead letter as a person reads it."""

    document: Any  # the parsed body when it is JSON, else None
    body_format: str  # json | text
    business_key: str = ""
    correlation_id: str = ""
    causation_id: str = ""
    initiator: str = ""
    error_code: str = ""
    error_message: str = ""
    envelope: dict[str, Any] = field(default_factory=dict)  # meta fields called out
    error_attributes: dict[str, str] = field(default_factory=dict)
    request_context: dict[str, Any] | None = None  # an on-failure record's
    response_context: dict[str, Any] | None = None
    response_payload: Any = None


def parse_json(body: str) -> Any:
    """The body's JSON value, or None when it is not JSON (or too big to parse)."""
    text = body.strip()
    if not text or text[0] not in "{[" or len(text) > MAX_JSON_PARSE:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _candidates(document: Any, mechanism: str) -> list[Any]:
    """Where the business message sits inside the body, most specific first."""
    if not isinstance(document, dict):
        return []
    out: list[Any] = []
    if mechanism == "lambda_destination" and isinstance(document.get("requestPayload"), dict):
        out.append(document["requestPayload"])
        if isinstance(document["requestPayload"].get("detail"), dict):
            out.append(document["requestPayload"]["detail"])
    if isinstance(document.get("detail"), dict):
        out.append(document["detail"])
    out.append(document)
    return out


def _first(candidates: list[Any], paths: list[str]) -> str:
    for candidate in candidates:
        for path in paths:
            value = json_path_get(candidate, path)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    return ""


def _paths(path: str | None, *fallback: str) -> list[str]:
    """The kind's path, then its last key at the top (`$.data.orderId` -> `$.orderId`)."""
    out = [path] if path else []
    if path and path.count(".") > 1:
        out.append("$." + path.rsplit(".", 1)[-1])
    out.extend(p for p in fallback if p not in out)
    return out


def read(
    body: str,
    mechanism: str,
    message_attributes: dict[str, str],
    kind: SagaKind | None = None,
) -> Reading:
    """Read a dead letter's ids, envelope and error from its body and attributes."""
    document = parse_json(body)
    candidates = _candidates(document, mechanism)
    business_key = _first(candidates, _paths(kind.business_key_path if kind else None))
    from_attributes = [
        message_attributes[a] for a in CORRELATION_ATTRIBUTES if a in message_attributes
    ]
    correlation_id = next((c for c in from_attributes if c), "") or _first(
        candidates,
        _paths(
            kind.correlation_id_path if kind else None, "$.meta.correlationId", "$.correlationId"
        ),
    )
    meta: dict[str, Any] = {}
    for candidate in candidates:
        found = json_path_get(candidate, "$.meta")
        if isinstance(found, dict):
            meta = found
            break
    initiator = meta.get("initiator")
    initiator_text = (
        f"{initiator.get('type', '')}:{initiator.get('id', '')}".strip(":")
        if isinstance(initiator, dict)
        else str(initiator or "")
    )
    envelope = {
        k: meta[k]
        for k in (
            "messageType",
            "commandName",
            "eventName",
            "schemaVersion",
            "commandId",
            "eventId",
            "correlationId",
            "causationId",
            "occurredAt",
            "tenantId",
        )
        if meta.get(k) not in (None, "")
    }
    if initiator_text:
        envelope["initiator"] = initiator_text

    error_code = error_message = ""
    error_attributes: dict[str, str] = {}
    request_context = response_context = None
    response_payload: Any = None
    if mechanism == "eventbridge_rule":
        error_attributes = {
            a: message_attributes[a] for a in EVENTBRIDGE_ATTRIBUTES if a in message_attributes
        }
        error_code = message_attributes.get("ERROR_CODE", "")
        error_message = message_attributes.get("ERROR_MESSAGE", "")
    elif mechanism == "lambda_async":
        error_attributes = {
            a: message_attributes[a] for a in LAMBDA_ATTRIBUTES if a in message_attributes
        }
        error_code = message_attributes.get("ErrorCode", "")
        error_message = message_attributes.get("ErrorMessage", "")
    elif mechanism == "lambda_destination" and isinstance(document, dict):
        request_context = _dict_or_none(document.get("requestContext"))
        response_context = _dict_or_none(document.get("responseContext"))
        response_payload = document.get("responsePayload")
        if isinstance(response_payload, dict):
            error_code = str(response_payload.get("errorType", "") or "")
            error_message = str(response_payload.get("errorMessage", "") or "")
        if not error_code and response_context:
            error_code = str(response_context.get("functionError", "") or "")
        if not error_code and request_context:
            error_code = str(request_context.get("condition", "") or "")
    if not error_code and isinstance(document, dict) and isinstance(document.get("error"), str):
        error_message = document["error"]
    return Reading(
        document=document,
        body_format="json" if document is not None else "text",
        business_key=business_key[:200],
        correlation_id=(correlation_id or str(meta.get("correlationId", "") or ""))[:128],
        causation_id=str(meta.get("causationId", "") or "")[:128],
        initiator=initiator_text,
        error_code=error_code[:128],
        error_message=error_message,
        envelope=envelope,
        error_attributes=error_attributes,
        request_context=request_context,
        response_context=response_context,
        response_payload=response_payload,
    )


def _dict_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Resend:
    """Where and what a send-back delivers, per mechanism."""

    mechanism: str
    target: str  # queue name/URL, bus name, or function name/ARN
    body: str = ""  # the SQS body, or the Lambda payload
    event: dict[str, Any] | None = None  # the EventBridge entry (Source, DetailType, ...)
    problem: str = ""  # why it cannot be sent back; empty when it can


def bus_of_rule(rule_arn: str) -> str:
    """`arn:aws:events:r:a:rule/bus/rule` -> bus; `rule/name` is on the default bus."""
    resource = rule_arn.split(":", 5)[-1] if rule_arn.count(":") >= 5 else ""
    parts = resource.split("/")
    if len(parts) == 3 and parts[0] == "rule":
        return parts[1]
    return "default" if len(parts) == 2 and parts[0] == "rule" else ""


def resend_for(
    mechanism: str,
    body: str,
    message_attributes: dict[str, str],
    *,
    source: str | None,
    bus: str | None = None,
) -> Resend:
    """What sending this dead letter back means: the original message to its source queue,
    the event to its bus again, or the original payload to its function (async)."""
    if mechanism == "sqs_redrive":
        if not source:
            return Resend(mechanism, "", problem="the registry names no source queue")
        return Resend(mechanism, source, body=body)
    document = parse_json(body)
    if mechanism == "eventbridge_rule":
        if not isinstance(document, dict) or "detail" not in document:
            return Resend(mechanism, "", problem="the body is not an EventBridge event")
        target_bus = bus or bus_of_rule(message_attributes.get("RULE_ARN", ""))
        if not target_bus:
            return Resend(mechanism, "", problem="no RULE_ARN attribute and no bus in the registry")
        event = {
            "Source": str(document.get("source", "")),
            "DetailType": str(document.get("detail-type", "")),
            "Detail": json.dumps(document.get("detail")),
            "Resources": list(document.get("resources") or []),
        }
        return Resend(mechanism, target_bus, event=event)
    if mechanism == "lambda_async":
        if not source:
            return Resend(mechanism, "", problem="the registry names no function")
        return Resend(mechanism, source, body=body)
    if mechanism == "lambda_destination":
        if not isinstance(document, dict) or "requestPayload" not in document:
            return Resend(mechanism, "", problem="the body is not an invocation record")
        context = _dict_or_none(document.get("requestContext")) or {}
        function = str(context.get("functionArn") or source or "")
        if function.count(":") == 7:
            function = function.rsplit(":", 1)[0]  # drop the version: invoke what runs now
        if not function:
            return Resend(mechanism, "", problem="the record names no function")
        return Resend(mechanism, function, body=json.dumps(document["requestPayload"]))
    return Resend(mechanism, "", problem=f"unknown mechanism {mechanism}")


def json_path_value(document: Any, path: str) -> Any:
    """A `$.a.b` path's value in `document` or in the event/record inside it."""
    for candidate in _candidates(document, "lambda_destination") or [document]:
        value = json_path_get(candidate, path)
        if value is not None:
            return value
    return None
