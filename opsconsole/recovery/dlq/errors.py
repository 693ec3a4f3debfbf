"""Why a DLQ action refuses: stable codes and their facts, and how each reads (registered
from `RecoveryConfig.ready()`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsconsole.errors import DomainError, NotFound
from opsconsole.web.problems import ErrorSpec


class DlqNotFound(NotFound):
    code = "dlq.not_found"


class MessageNotFound(NotFound):
    code = "dlq.message_not_found"


class DlqUnavailable(DomainError):
    """AWS did not answer (`detail` says how); nothing changed."""

    code = "dlq.aws_unavailable"


class MoveTaskRunning(DomainError):
    """SQS allows one active move task per queue."""

    code = "dlq.move_task_running"


class MoveNotSupported(DomainError):
    """Move tasks only serve DLQs whose sources are SQS queues."""

    code = "dlq.move_not_supported"


class NothingSelected(DomainError):
    code = "dlq.nothing_selected"


class InvalidEdit(DomainError):
    """An edited body that is not what its mechanism can send (`problem` says why)."""

    code = "dlq.invalid_edit"


def _running(params: Mapping[str, Any]) -> str:
    return (
        f"A move task is already running for {params.get('dlq')}. SQS allows one active move "
        "task per queue: wait for it to finish, or cancel it, then start another."
    )


ERROR_SPECS: dict[str, ErrorSpec] = {
    DlqNotFound.code: ErrorSpec(404, "DLQ not found", "The registry names no DLQ {dlq}."),
    MessageNotFound.code: ErrorSpec(404, "Message not found", "No dead letter {message}."),
    DlqUnavailable.code: ErrorSpec(
        424, "AWS unavailable", "AWS did not answer ({aws_error}); nothing was changed."
    ),
    MoveTaskRunning.code: ErrorSpec(409, "A move task is already running", _running),
    MoveNotSupported.code: ErrorSpec(
        400,
        "Move tasks need an SQS source",
        "{dlq} is a {mechanism} DLQ: AWS move tasks only serve DLQs whose sources are SQS "
        "queues. Send its messages back one by one (select them) instead.",
    ),
    NothingSelected.code: ErrorSpec(400, "Nothing selected", "Select at least one message."),
    InvalidEdit.code: ErrorSpec(400, "The edited message cannot be sent", "{problem}"),
}
