"""The emulator process's entry point: moto's server, made fast enough for 10,000 sagas.

Out of the box, moto's cost per execution grows with everything already in it: its Step
Functions engine builds a new boto3 client for every task, parses the ASL again for every
execution, builds a new JSONPath parser for every path and calls the other services over
HTTP back into this very server; and its SQS counts every message of a queue on each send
and, per candidate message, on each receive, behind a process-wide lock taken on every
backend access. Measured on this machine: ~17 executions/s falling below 5/s after a few
thousand. With the changes below: a flat ~0.04 s of server CPU per order execution.

Each change keeps moto's behaviour (the calls, their errors, retries and timeouts, the
histories and queue contents are moto's own) and only removes repeated work; each is a
small function below with its reason. The emulator process applies them all; the test
suite's in-process moto applies the caches among them too (tests/conftest.py), so tests
run on the same behaviour, only faster.

Run as `python -m opsconsole.emulator.moto_main -H 127.0.0.1 -p PORT` (what server.py does).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from typing import Any

from opsconsole.emulator import (
    cloudwatch_index,
    events_replay,
    sfn_definitions,
    sfn_events,
    sfn_redrive,
    throttling,
)

_SERVICE_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
    "state_task_service_factory",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
)


def cache_task_clients() -> int:
    """Swap moto's per-task client factory for a cached one; return how many modules use it."""
    from moto.core.models import botocore_stubber
    from moto.stepfunctions.parser.asl.utils import boto_client

    for name in _SERVICE_MODULES:
        importlib.import_module(name)
    original = boto_client.boto_client_for
    cache: dict[tuple[str, str, bool], Any] = {}
    lock = threading.Lock()

    def cached_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        key = (region, service, bool(botocore_stubber.enabled))
        found = cache.get(key)
        if found is None:
            with lock:
                found = cache.get(key)
                if found is None:
                    found = original(region, service, state_credentials)
                    cache[key] = found
        return found

    patched = 0
    for module in list(sys.modules.values()):
        if getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = cached_client_for  # type: ignore[attr-defined]
            patched += 1
    return patched


def cache_parsed_definitions(limit: int = 64) -> None:
    """Parse each state machine definition once, not once per execution.

    The parsed program is a tree of declarations; everything an execution changes lives in
    its own evaluation environment, so executions of one definition can share it.
    """
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    original = ExecutionWorker._get_evaluation_entrypoint
    programs: dict[str, Any] = {}
    lock = threading.Lock()

    def cached_entrypoint(self: Any) -> Any:
        definition = self._evaluation_details.state_machine_details.definition
        program = programs.get(definition)
        if program is None:
            program = original(self)
            with lock:
                if len(programs) >= limit:
                    programs.clear()
                programs[definition] = program
        return program

    ExecutionWorker._get_evaluation_entrypoint = cached_entrypoint  # type: ignore[method-assign]


def cache_json_paths() -> None:
    """Compile each JSONPath once: jsonpath_ng builds a new PLY parser on every parse()."""
    import functools

    import jsonpath_ng
    import jsonpath_ng.ext

    importlib.import_module("moto.stepfunctions.parser.asl.utils.json_path")
    importlib.import_module("moto.stepfunctions.parser.asl.component.common.path.result_path")
    originals: set[Any] = {jsonpath_ng.parse, jsonpath_ng.ext.parse}
    cached: dict[Any, Any] = {f: functools.lru_cache(maxsize=4096)(f) for f in originals}
    for module in list(sys.modules.values()):
        found = getattr(module, "parse", None)
        if found in originals and module.__name__.startswith(("moto.", "jsonpath_ng")):
            module.parse = cached[found]  # type: ignore[attr-defined]


def call_services_in_process() -> None:
    """Let the engine's service calls reach this process's backends directly.

    Without this, every task makes an HTTP round trip back into this very server (through
    localhost:$MOTO_PORT). moto's in-process interception (what `mock_aws` uses, and what
    the test suite runs on) dispatches the same request to the same backends without the
    socket, the extra server thread and the second serialization. Requests arriving over
    HTTP are not affected: they never pass through botocore in this process.
    """
    from moto.core.models import botocore_stubber

    botocore_stubber.enabled = True


def lock_free_backend_lookups() -> None:
    """Skip moto's global lock when a backend already exists (double-checked locking).

    moto takes one process-wide lock, and compares its list of services, on every access
    to any backend; with hundreds of execution threads that lock becomes a convoy. The
    account's backend, once created, is only removed by moto's reset, which clears the
    dictionary under the same lock, so a present key means there is nothing to create.
    """
    from moto.core.base_backend import BackendDict

    original = BackendDict._create_account_specific_backend

    def create_if_missing(self: Any, account_id: str) -> None:
        if dict.__contains__(self, account_id):
            return
        original(self, account_id)

    BackendDict._create_account_specific_backend = create_if_missing  # type: ignore[method-assign]


def cheap_retention_checks() -> None:
    """Check a message's retention without recomputing all of its queue's attributes.

    moto's ReceiveMessage asks, for each candidate message, for the queue's attributes,
    which counts every message in the queue three times: receiving is quadratic in the
    queue's depth. The retention period is a plain attribute of the queue.
    """
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(
        self: Any, queue_name: str, message: Any
    ) -> bool:
        retention = int(self.get_queue(queue_name).message_retention_period)
        return bool(retention + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = (  # type: ignore[method-assign]
        is_message_valid_based_on_retention_period
    )


def cheap_sends() -> None:
    """Send a message without counting every message already in the queue.

    moto's SendMessage reads `queue.attributes` (which counts the queue's messages three
    times) only to look up ContentBasedDeduplication, a FIFO-only attribute. While a
    standard queue is being sent to, that lookup gets an empty view instead: same answer,
    constant cost.
    """
    from moto.sqs.models import Queue, SQSBackend

    full = Queue.attributes
    sending = threading.local()

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(sending, "active", False) and not self.fifo_queue:
            return {}
        return full.fget(self)  # type: ignore[attr-defined]

    original_send = SQSBackend.send_message

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.active = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            sending.active = False

    Queue.attributes = property(attributes)  # type: ignore[assignment, method-assign]
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


def indexed_receipt_handles() -> None:
    """Find a message by its receipt handle without scanning its queue.

    moto's DeleteMessage and ChangeMessageVisibility look at every message of the queue for
    the handle (DeleteMessage twice, then rebuilds the list): sending back 10,000 dead
    letters from a DLQ of 10,500 made a hundred million comparisons. Every handle a receive
    gives is indexed here; the same checks (the handle belongs to a message of this queue,
    an already deleted handle is accepted again, a stale handle of the message still
    works) keep moto's answers.
    """
    import weakref

    from moto.core.utils import unix_time_millis
    from moto.sqs.exceptions import InvalidParameterValue, ReceiptHandleIsInvalid
    from moto.sqs.models import Message, Queue, SQSBackend

    by_handle: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
    received = Message.mark_received

    def mark_received(self: Any, visibility_timeout: int | None = None) -> None:
        received(self, visibility_timeout)
        by_handle[self.receipt_handle] = self

    def _message_of(queue: Any, receipt_handle: str) -> Any:
        message = by_handle.get(receipt_handle)
        # `in` on the list compares identity first, in C: no Python loop over the queue.
        if message is None or message not in queue._messages:
            raise ReceiptHandleIsInvalid()
        return message

    def delete_message(self: Any, receipt_handle: str) -> None:
        if receipt_handle in self.deleted_messages:
            return  # already deleted: moto (and SQS) accept it again
        message = _message_of(self, receipt_handle)
        self.pending_messages.discard(message)
        self.deleted_messages.update(message.all_receipt_handles)
        self._messages.remove(message)

    def change_message_visibility(
        self: Any, queue_name: str, receipt_handle: str, visibility_timeout: int
    ) -> None:
        queue = self.get_queue(queue_name)
        message = _message_of(queue, receipt_handle)
        until = unix_time_millis() + int(visibility_timeout) * 1000
        if until - message.sent_timestamp > 43200 * 1000:
            raise InvalidParameterValue(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. "
                "Reason: Total VisibilityTimeout for the message is beyond the limit "
                "[43200 seconds]"
            )
        message.change_visibility(visibility_timeout)
        if message.visible and message in queue.pending_messages:
            queue.pending_messages.remove(message)

    Message.mark_received = mark_received  # type: ignore[method-assign]
    Queue.delete_message = delete_message  # type: ignore[method-assign]
    SQSBackend.change_message_visibility = change_message_visibility  # type: ignore[method-assign]


def cheap_visibility() -> None:
    """Tell visible messages apart with one clock reading per receive.

    moto's ReceiveMessage first lists the queue's visible messages, asking each message
    twice for the time through datetime arithmetic (about 14 microseconds a message): in a
    DLQ of 10,500 messages that is 0.14 s for every receive of ten. The same comparisons,
    against `time.time()` read once, cost a hundredth of that.
    """
    import time as clock

    from moto.sqs.models import Message, Queue

    def visible(self: Any) -> bool:
        return bool(clock.time() * 1000 > self.visible_at)

    def delayed(self: Any) -> bool:
        return bool(clock.time() * 1000 < self.delayed_until)

    def messages(self: Any) -> list[Any]:
        now = clock.time() * 1000
        return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]

    Message.visible = property(visible)  # type: ignore[assignment, method-assign]
    Message.delayed = property(delayed)  # type: ignore[assignment, method-assign]
    Queue.messages = property(messages)  # type: ignore[assignment, method-assign]


def cache_module_list() -> None:
    """List moto's service packages once, not on every HTTP request (under a global lock)."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


def guard_callback_race() -> None:
    """Answer task tokens without tripping over executions that are just finishing.

    moto 5.2.5 answers SendTaskSuccess/Failure by walking every RUNNING execution's worker;
    one finishing at that instant has no worker environment any more and the call dies with
    AttributeError. Those executions cannot be the one waiting for the token: skip them.
    Applied in the emulator process and in the tests' in-process moto alike.
    """
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend._get_executions
    if getattr(original, "_opsconsole_guarded", False):
        return

    def live(self: Any, execution_status: Any = None) -> list[Any]:
        return [
            e
            for e in original(self, execution_status)
            if getattr(getattr(e, "exec_worker", None), "env", None) is not None
        ]

    live._opsconsole_guarded = True  # type: ignore[attr-defined]
    StepFunctionsParserBackend._get_executions = live  # type: ignore[method-assign]


def speed_up() -> None:
    """Apply the caches (the server process calls this before moto starts)."""
    guard_callback_race()
    importlib.import_module("opsconsole.emulator.sqs_move_tasks").install()
    call_services_in_process()
    lock_free_backend_lookups()
    cheap_retention_checks()
    cheap_sends()
    indexed_receipt_handles()
    cheap_visibility()
    cache_module_list()
    cache_task_clients()
    cache_parsed_definitions()
    cache_json_paths()
    cloudwatch_index.index_metric_data()


def main(argv: list[str] | None = None) -> None:
    # Every failed JSONPath probe (a Choice's IsPresent: false) is logged as an ERROR; the
    # execution history already tells what happened.
    logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").setLevel(
        logging.CRITICAL
    )
    # One log line per request (the engine's own calls included) costs more than it tells.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    speed_up()
    throttling.install()
    sfn_events.install()
    sfn_redrive.install()
    sfn_definitions.install()
    events_replay.install()
    importlib.import_module("opsconsole.emulator.events_sfn_targets").install()
    importlib.import_module("opsconsole.emulator.sfn_start_execution").install()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
