"""Collecting approval requests: each callback-queue message becomes one request
(deduplicated by its task token, the token encrypted at rest), deleted once stored."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from opsconsole.audit import log as audit
from opsconsole.audit.log import Actor
from opsconsole.aws import sqs
from opsconsole.aws.clients import AwsEnvironment
from opsconsole.aws.errors import AwsError
from opsconsole.registry import ApprovalQueue, get_registry, json_path_get
from opsconsole.web.formatting import format_amount
from sagas.models import Saga
from sagas.parsing import parse_amount, parse_initiator

from .. import domain_events
from ..crypto import encrypt_token, token_dedup_key
from ..models import ApprovalRequest
from .common import env_for, sagas_by_arn, waiting_saga

logger = logging.getLogger(__name__)

MAX_MESSAGES_PER_QUEUE = 200
RECEIVE_VISIBILITY_SECONDS = 60


@dataclass(frozen=True)
class ParsedMessage:
    token: str
    business_key: str
    execution_arn: str
    summary: str
    amount: Decimal | None
    currency: str
    threshold: Decimal | None
    correlation_id: str
    initiator_type: str
    initiator_id: str
    requested_at: datetime
    deadline: datetime | None


# The message's fields a request stores under the same name, as they are.
_STORED_AS_SENT = (
    "execution_arn",
    "business_key",
    "summary",
    "amount",
    "currency",
    "threshold",
    "requested_at",
    "deadline",
)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def parse_message(
    queue: ApprovalQueue, body: str, *, sent_at: datetime | None, now: datetime
) -> ParsedMessage | None:
    """The request a queue message asks for, or None when it carries no task token."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    token = json_path_get(document, queue.token_path)
    if not isinstance(token, str) or not token.strip():
        return None
    execution_arn = (
        str(json_path_get(document, queue.execution_path) or "") if (queue.execution_path) else ""
    )
    key = json_path_get(document, queue.business_key_path)
    business_key = str(key) if key not in (None, "") else execution_arn.rsplit(":", 1)[-1] or "?"
    amount = parse_amount(json_path_get(document, queue.amount_path)) if queue.amount_path else None
    currency = (
        str(json_path_get(document, queue.currency_path) or "") if (queue.currency_path) else ""
    )
    threshold = (
        parse_amount(json_path_get(document, queue.threshold_path))
        if queue.threshold_path
        else None
    )
    initiator_type, initiator_id = parse_initiator(
        json_path_get(document, queue.initiator_path) if queue.initiator_path else None
    )
    correlation_id = (
        json_path_get(document, queue.correlation_id_path) if queue.correlation_id_path else None
    )
    requested_at = sent_at or now
    # The state's TimeoutSeconds (registry); a HeartbeatSeconds the message carries is
    # sooner, since the console does not heartbeat.
    seconds = [
        s
        for s in (
            queue.timeout_seconds,
            _positive_int(document.get("timeoutSeconds")),
            _positive_int(document.get("heartbeatSeconds")),
        )
        if s
    ]
    deadline = requested_at + timedelta(seconds=min(seconds)) if seconds else None
    summary = queue.summary_template.format_map(
        _Blank(
            business_key=business_key,
            amount=format_amount(amount),
            currency=currency or "?",
            threshold=format_amount(threshold, whole_if_round=True),
        )
    )
    return ParsedMessage(
        token=token,
        business_key=business_key[:200],
        execution_arn=execution_arn[:512],
        summary=summary[:500],
        amount=amount,
        currency=currency[:3],
        threshold=threshold,
        correlation_id=str(correlation_id or "")[:128],
        initiator_type=initiator_type,
        initiator_id=initiator_id,
        requested_at=requested_at,
        deadline=deadline,
    )


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


@dataclass
class CollectResult:
    received: int = 0
    created: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)


def collect_approval_requests(max_per_queue: int = MAX_MESSAGES_PER_QUEUE) -> CollectResult:
    """Drain every approval queue into ApprovalRequests; delete each message once stored."""
    registry = get_registry()
    result = CollectResult()
    for queue in registry.approval_queues:
        env = env_for(registry, queue.kind)
        try:
            _collect_queue(queue, env, max_per_queue, result)
        except AwsError as exc:
            # One queue's trouble must not stop the others; the next run tries again.
            logger.warning("approval queue %s could not be drained: %s", queue.name, exc)
            result.errors.append(f"{queue.name}: {exc}")
    return result


def _collect_queue(
    queue: ApprovalQueue, env: AwsEnvironment | None, limit: int, result: CollectResult
) -> None:
    seen = 0
    while seen < limit:
        messages = sqs.receive_messages(
            queue.queue,
            max_messages=10,
            wait_seconds=0,
            visibility_timeout=RECEIVE_VISIBILITY_SECONDS,
            env=env,
        )
        if not messages:
            return
        seen += len(messages)
        result.received += len(messages)
        now = timezone.now()
        parsed = []
        for message in messages:
            p = parse_message(queue, message.body, sent_at=message.sent_at, now=now)
            if p is None:
                # Left in the queue: its redrive policy moves it to the DLQ, where an
                # operator sees it. Never log the body (it may hold a token).
                result.invalid += 1
                logger.warning(
                    "message %s on %s carries no task token at %s; left for the DLQ",
                    message.message_id,
                    queue.name,
                    queue.token_path,
                )
                continue
            parsed.append((message, p))
        sagas = sagas_by_arn(p.execution_arn for _, p in parsed)
        for message, p in parsed:
            saga = sagas.get(p.execution_arn) if p.execution_arn else None
            if saga is None and not p.execution_arn:
                # Only the business key: the saga of that key waiting at an approval step.
                saga = waiting_saga(queue.kind, p.business_key, p.requested_at)
            created = _store(queue, message.message_id, p, saga)
            if created:
                result.created += 1
            else:
                result.duplicates += 1
            try:
                sqs.delete_message(queue.queue, message.receipt_handle, env=env)
            except AwsError as exc:
                # Stored already: the redelivered copy will be recognised and deleted.
                logger.warning("could not delete message %s: %s", message.message_id, exc)


def _store(queue: ApprovalQueue, message_id: str, p: ParsedMessage, saga: Saga | None) -> bool:
    dedup = token_dedup_key(p.token)
    if ApprovalRequest.objects.filter(dedup_key=dedup).exists():
        return False
    requested_by = p.initiator_id or (saga.initiator_id if saga else "")
    try:
        with transaction.atomic():
            req = ApprovalRequest.objects.create(
                **{f: getattr(p, f) for f in _STORED_AS_SENT if f != "execution_arn"},
                execution_arn=p.execution_arn or (saga.execution_arn if saga else ""),
                saga=saga,
                kind=queue.kind,
                queue_name=queue.name,
                correlation_id=p.correlation_id or (saga.correlation_id if saga else ""),
                requested_by_type=p.initiator_type or (saga.initiator_type if saga else ""),
                requested_by=requested_by,
                token_encrypted=encrypt_token(p.token),
                dedup_key=dedup,
                message_id=message_id[:128],
            )
            domain_events.requested(req)
    except IntegrityError:
        # Another worker stored the same message a moment ago.
        return False
    audit.record(
        Actor.system("approvals"),
        "approval.requested",
        result="succeeded",
        target_type="approval",
        target_id=str(req.pk),
        correlation_id=req.correlation_id,
        details={
            "kind": req.kind,
            "business_key": req.business_key,
            "summary": req.summary,
            "execution_arn": req.execution_arn,
        },
    )
    return True
