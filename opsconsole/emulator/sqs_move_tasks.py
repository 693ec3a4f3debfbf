"""SQS message move tasks for moto, as AWS documents them (moto 5.2 has none).

StartMessageMoveTask, ListMessageMoveTasks and CancelMessageMoveTask, on moto's own SQS
backend (so the tests' in-process moto and the emulator server behave alike):

- the source must be a dead-letter queue: some queue's redrive policy names it, or its
  RedriveAllowPolicy lists sources; otherwise `UnsupportedOperation` ("Source queue must be
  configured as a Dead Letter Queue."). A missing queue is `ResourceNotFoundException`.
- one active task per source queue (`UnsupportedOperation`, "There is already a task
  running..."); `MaxNumberOfMessagesPerSecond` is 1..500 (`InvalidParameterValue`), unset
  lets the service choose (here: as fast as it can).
- with no destination, each message goes back to the queue it was dead-lettered from:
  its `DeadLetterQueueSourceArn` when known, else the one queue whose redrive policy targets
  the DLQ; a DLQ that serves several queues and gets no destination fails the task.
- a moved message is a new message (new MessageId, receive count 0, original body and
  message attributes); the task works asynchronously, in its own thread, at its rate, and
  takes only the messages that were in the DLQ when it started (ApproximateNumberOfMessages
  ToMove); messages in flight wait until they are visible again.
- statuses RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED; the task handle (base64 JSON
  of the task id and source ARN) is returned by the list call only while the task runs; the
  list call returns the latest tasks of the source, newest first (MaxResults 1..10, default
  1). Cancel works on a running task only (else `ResourceNotFoundException`) and does not
  undo what moved.

`install()` adds the three actions to moto's SQSResponse; moto_main.speed_up() and
tests/conftest.py call it.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

MAX_RATE = 500
ACTIVE = ("RUNNING", "CANCELLING")


@dataclass
class MoveTask:
    task_id: str
    account_id: str
    region: str
    source_arn: str
    destination_arn: str | None
    rate: int | None
    started_ms: int
    to_move: int
    queue: Any = None  # the DLQ itself: a queue deleted and created again has no tasks
    status: str = "RUNNING"
    moved: int = 0
    failure_reason: str | None = None
    pending: list[Any] = field(default_factory=list)  # the moto Message objects to move

    @property
    def handle(self) -> str:
        raw = json.dumps({"taskId": self.task_id, "sourceArn": self.source_arn})
        return base64.b64encode(raw.encode()).decode()

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.destination_arn:
            out["DestinationArn"] = self.destination_arn
        if self.rate:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure_reason:
            out["FailureReason"] = self.failure_reason
        return out


_tasks: dict[str, list[MoveTask]] = {}  # source ARN -> its tasks, oldest first
_lock = threading.Lock()


def _error(code: str, message: str) -> Exception:
    from moto.sqs.exceptions import SQSException

    return SQSException(code, message)


def _queue_by_arn(backend: Any, arn: str) -> Any:
    name = arn.rsplit(":", 1)[-1]
    queue = backend.queues.get(name)
    if queue is None or queue.queue_arn != arn:
        raise _error("ResourceNotFoundException", f"The resource {arn} does not exist.")
    return queue


def _sources_of(backend: Any, dlq: Any) -> list[Any]:
    return [q for q in backend.queues.values() if q.dead_letter_queue is dlq]


def _is_dlq(backend: Any, dlq: Any) -> bool:
    if _sources_of(backend, dlq):
        return True
    allow = getattr(dlq, "redrive_allow_policy", None)
    if isinstance(allow, str):
        try:
            allow = json.loads(allow)
        except ValueError:
            allow = None
    return bool(allow and allow.get("sourceQueueArns"))


def _backend(account_id: str, region: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends[account_id][region]


def _destination_for(backend: Any, task: MoveTask, dlq: Any, message: Any) -> Any:
    if task.destination_arn:
        return _queue_by_arn(backend, task.destination_arn)
    known = (message.system_attributes or {}).get("DeadLetterQueueSourceArn")
    if isinstance(known, dict):
        known = known.get("StringValue")
    if known:
        return _queue_by_arn(backend, str(known))
    sources = _sources_of(backend, dlq)
    if len(sources) != 1:
        raise _error(
            "InvalidParameterValue",
            "The message's source queue is not known; give a DestinationArn.",
        )
    return sources[0]


def _move_one(backend: Any, task: MoveTask, dlq: Any, message: Any) -> bool:
    """Move one message if it is still in the DLQ and visible; False to try it later."""
    if message not in dlq._messages:
        return True  # deleted meanwhile: nothing to move
    if not message.visible or message.delayed:
        return False
    destination = _destination_for(backend, task, dlq, message)
    with dlq._messages_lock:
        if message not in dlq._messages:
            return True
        dlq._messages.remove(message)
    backend.send_message(
        destination.name,
        message.body,
        message_attributes=dict(message.message_attributes or {}),
    )
    task.moved += 1
    return True


def _run(task: MoveTask) -> None:
    interval = 1.0 / task.rate if task.rate else 0.0
    next_at = time.monotonic()
    try:
        backend = _backend(task.account_id, task.region)
        dlq = _queue_by_arn(backend, task.source_arn)
        while task.pending:
            if task.status == "CANCELLING":
                task.status = "CANCELLED"
                return
            if backend.queues.get(dlq.name) is not dlq:
                raise _error("ResourceNotFoundException", "The source queue was deleted.")
            waiting = []
            for index, message in enumerate(task.pending):
                if task.status == "CANCELLING":
                    waiting.extend(task.pending[index:])
                    break
                if interval:
                    delay = next_at - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    next_at = max(next_at + interval, time.monotonic())
                if not _move_one(backend, task, dlq, message):
                    waiting.append(message)
            task.pending = waiting
            if waiting and task.status == "RUNNING":
                time.sleep(0.05)  # in-flight messages move once they are visible again
        task.status = "CANCELLED" if task.status == "CANCELLING" else "COMPLETED"
    except Exception as exc:  # the task, not the server, fails
        task.status = "FAILED"
        task.failure_reason = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    finally:
        task.pending = []


def start(backend: Any, source_arn: str, destination_arn: str | None, rate: int | None) -> str:
    if rate is not None and not 1 <= int(rate) <= MAX_RATE:
        raise _error(
            "InvalidParameterValue",
            f"Value {rate} for parameter MaxNumberOfMessagesPerSecond is invalid. "
            f"Reason: must be between 1 and {MAX_RATE}.",
        )
    dlq = _queue_by_arn(backend, source_arn)
    if destination_arn:
        _queue_by_arn(backend, destination_arn)
    if not _is_dlq(backend, dlq):
        raise _error(
            "UnsupportedOperation", "Source queue must be configured as a Dead Letter Queue."
        )
    with _lock:
        existing = _tasks.setdefault(source_arn, [])
        existing[:] = [t for t in existing if t.queue is dlq or t.status in ACTIVE]
        if any(t.status in ACTIVE and t.queue is dlq for t in existing):
            raise _error(
                "UnsupportedOperation",
                "There is already a task running. Only one active message move task is "
                "allowed per source queue arn at a given time.",
            )
        pending = [m for m in list(dlq._messages) if not m.delayed]
        task = MoveTask(
            task_id=str(uuid.uuid4()),
            account_id=backend.account_id,
            region=backend.region_name,
            source_arn=source_arn,
            destination_arn=destination_arn,
            rate=int(rate) if rate else None,
            started_ms=int(time.time() * 1000),
            to_move=len(pending),
            queue=dlq,
            pending=pending,
        )
        existing.append(task)
    threading.Thread(
        target=_run, args=(task,), name=f"move-task-{task.task_id}", daemon=True
    ).start()
    return task.handle


def list_tasks(backend: Any, source_arn: str, max_results: int | None) -> list[dict[str, Any]]:
    limit = 1 if max_results is None else int(max_results)
    if not 1 <= limit <= 10:
        raise _error(
            "InvalidParameterValue",
            f"Value {limit} for parameter MaxResults is invalid. Reason: must be between 1 and 10.",
        )
    dlq = _queue_by_arn(backend, source_arn)
    with _lock:
        found = [t for t in _tasks.get(source_arn, []) if t.queue is dlq]
    return [t.describe() for t in reversed(found[-limit:])]


def cancel(backend: Any, handle: str) -> int:
    try:
        decoded = json.loads(base64.b64decode(handle.encode()).decode())
        task_id, source_arn = decoded["taskId"], decoded["sourceArn"]
    except (ValueError, KeyError, TypeError):
        raise _error("ResourceNotFoundException", "Task does not exist.") from None
    with _lock:
        for task in _tasks.get(source_arn, []):
            if task.task_id == task_id and task.account_id == backend.account_id:
                if task.status != "RUNNING":
                    raise _error("ResourceNotFoundException", "Only active tasks can be cancelled.")
                task.status = "CANCELLING"
                return task.moved
    raise _error("ResourceNotFoundException", "Task does not exist.")


def reset() -> None:
    """Forget every task (moto's reset keeps no queues, so their tasks mean nothing)."""
    with _lock:
        for tasks in _tasks.values():
            for task in tasks:
                if task.status == "RUNNING":
                    task.status = "CANCELLING"
        _tasks.clear()


def install() -> None:
    """Teach moto's SQS the three move-task actions (idempotent)."""
    from moto.core.responses import ActionResult
    from moto.sqs.responses import SQSResponse

    if getattr(SQSResponse, "_opsconsole_move_tasks", False):
        return

    def start_message_move_task(self: Any) -> Any:
        handle = start(
            self.sqs_backend,
            self._get_param("SourceArn"),
            self._get_param("DestinationArn"),
            self._get_param("MaxNumberOfMessagesPerSecond"),
        )
        return ActionResult({"TaskHandle": handle})

    def list_message_move_tasks(self: Any) -> Any:
        results = list_tasks(
            self.sqs_backend, self._get_param("SourceArn"), self._get_param("MaxResults")
        )
        return ActionResult({"Results": results})

    def cancel_message_move_task(self: Any) -> Any:
        moved = cancel(self.sqs_backend, self._get_param("TaskHandle"))
        return ActionResult({"ApproximateNumberOfMessagesMoved": moved})

    SQSResponse.start_message_move_task = start_message_move_task  # type: ignore[attr-defined]
    SQSResponse.list_message_move_tasks = list_message_move_tasks  # type: ignore[attr-defined]
    SQSResponse.cancel_message_move_task = cancel_message_move_task  # type: ignore[attr-defined]
    SQSResponse._opsconsole_move_tasks = True  # type: ignore[attr-defined]
