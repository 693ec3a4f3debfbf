"""The emulator process's entry point: moto's server, with two changes for speed.

moto's Step Functions engine builds a brand-new boto3 client for every task it runs
(loading the service model from disk and a fresh TLS context each time) and parses the
state machine's ASL again for every execution (~0.1 s of CPU for ours); with thousands of
executions those dominate the server's CPU. Here the engine's clients are cached per
(region, service) — boto3 clients are thread-safe — with the same configuration moto uses,
and each definition is parsed once. The calls, their endpoints, retries and timeouts, and
the histories are moto's own.

Run as `python -m opsconsole.emulator.moto_main -H 127.0.0.1 -p PORT` (what server.py does).
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import Any

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


def main(argv: list[str] | None = None) -> None:
    cache_task_clients()
    cache_parsed_definitions()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
