"""Sync of 10,000 executions from the emulator, the empty incremental sync, and search in
the read model against finding the same saga with ListExecutions + DescribeExecution.

Targets (DESIGN.md): initial sync of 10,000 executions <= 60 s; a sync with nothing new is
one ListExecutions call per state machine and <= 1 s; search by business key or
correlation id over 100,000 sagas <= 20 ms and >= 100x faster than the AWS way.

The emulator (moto in server mode) holds the seeded world (every outcome, approvals
answered, sagas left waiting) plus enough duplicate order submissions (rejected by
ValidateOrder because the order is already confirmed: short, real failed executions) to
reach 10,000. The search part then adds synthetic rows to reach 100,000 in the read model.

    .venv/bin/python bench/sagas_sync.py [--executions 10000] [--no-write]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _sagas_common import (
    emulator,
    median_ms,
    prepare_database,
    stamp,
    synthetic_sagas,
    viewer,
    write_block,
)

INITIAL_TARGET_S = 60.0
EMPTY_TARGET_S = 1.0
SEARCH_TARGET_MS = 20.0
RATIO_TARGET = 100.0


def finish_everything(w: Any) -> None:
    """End every execution still running: reject the waiting approvals (their sagas then
    compensate) and stop the rest (moto does not stop a step waiting for a callback)."""
    from opsconsole.aws import sqs, stepfunctions
    from opsconsole.aws.errors import AwsError

    arns = (w.order_state_machine_arn, w.closure_state_machine_arn)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        running = [e for arn in arns for e in stepfunctions.iter_executions(arn, status="RUNNING")]
        if not running:
            return
        for queue in ("order-approvals", "closure-approvals"):
            for message in sqs.receive_messages(w.queue_urls[queue], max_messages=10):
                token = json.loads(message.body).get("taskToken")
                if token:
                    # An answered or expired token: nothing to end.
                    with contextlib.suppress(AwsError):
                        stepfunctions.send_task_failure(token, "Rejected", "benchmark over")
                sqs.delete_message(w.queue_urls[queue], message.receipt_handle)
        for e in running:
            with contextlib.suppress(AwsError):  # it ended meanwhile
                stepfunctions.stop_execution(e.arn, "BenchOver", "stopped by the benchmark")
        time.sleep(1)
    raise SystemExit("some executions would not end")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=10_000)
    parser.add_argument("--seeded-orders", type=int, default=300)
    parser.add_argument("--seeded-closures", type=int, default=100)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    vendor = prepare_database()
    from opsconsole.aws import clients, dynamodb, stepfunctions
    from opsconsole.emulator import seed, world
    from opsconsole.registry import get_registry, reset_registry
    from sagas import actions
    from sagas.models import Saga

    reset_registry()
    Saga.objects.all().delete()
    out: dict[str, Any] = {}
    with emulator() as where:
        w = world.build()
        began = time.monotonic()
        seed.seed(
            orders=args.seeded_orders,
            closures=args.seeded_closures,
            built=w,
            dead_letters=False,
        )
        duplicates = args.executions - args.seeded_orders - args.seeded_closures
        first_dup = 500_000

        def put(i: int) -> None:
            key = str(first_dup + i)
            dynamodb.put_item(
                "orders",
                {"pk": f"ORDER#{key}", "sk": "META", "status": "CONFIRMED", "orderId": key},
            )

        def start(i: int) -> None:
            key = str(first_dup + i)
            payload = seed.order_payload(key, [("MUG-01", 1)], n=i)
            stepfunctions.start_execution(w.order_state_machine_arn, f"order-{key}-1", payload)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, range(duplicates)))
            list(pool.map(start, range(duplicates)))
        # Let what finishes on its own finish (the waiting ones stay waiting).
        previous, stable_since = -1, time.monotonic()
        while time.monotonic() - stable_since < 6:
            running = sum(
                1
                for arn in (w.order_state_machine_arn, w.closure_state_machine_arn)
                for _ in stepfunctions.iter_executions(arn, status="RUNNING", page_size=1000)
            )
            if running != previous:
                previous, stable_since = running, time.monotonic()
            time.sleep(1)
        total = sum(
            1
            for arn in (w.order_state_machine_arn, w.closure_state_machine_arn)
            for _ in stepfunctions.iter_executions(arn, page_size=1000)
        )
        out["world_seconds"] = time.monotonic() - began
        out["executions"] = total
        out["running_before"] = previous
        print(f"world ready: {total} executions, {previous} still running ({where})", flush=True)

        calls: Counter[str] = Counter()

        def count(model: Any = None, **_: Any) -> None:
            if model is not None:
                calls[model.name] += 1

        registry = get_registry()
        env = registry.env_for(registry.kinds["orders"])
        hooked = [c for s in ("stepfunctions", "dynamodb") for c in clients.both_profiles(s, env)]
        for c in hooked:
            c.meta.events.register("before-call", count)

        started = time.perf_counter()
        results = actions.sync_all_kinds()
        out["initial_s"] = time.perf_counter() - started
        out["initial_calls"] = dict(calls)
        out["initial_rows"] = Saga.objects.count()
        assert all(r.ok for r in results), [r.error for r in results]
        print(f"initial sync: {out['initial_s']:.1f} s, {dict(calls)}", flush=True)

        # The backlog: where each failed execution failed, read by the next syncs.
        from sagas.sync import _BACKFILL_STATUSES

        def backlog() -> int:
            return (
                Saga.objects.filter(status__in=_BACKFILL_STATUSES, history_checked_at__isnull=True)
                .exclude(sfn_status="SUCCEEDED")
                .count()
            )

        out["backlog"] = backlog()
        started = time.perf_counter()
        out["backfill_syncs"] = 0
        while backlog() and out["backfill_syncs"] < 100:
            actions.sync_all_kinds()
            out["backfill_syncs"] += 1
        out["backfill_s"] = time.perf_counter() - started
        print(
            f"backfill of {out['backlog']} failure steps: {out['backfill_syncs']} syncs, "
            f"{out['backfill_s']:.1f} s",
            flush=True,
        )

        calls.clear()
        started = time.perf_counter()
        actions.sync_all_kinds()
        out["active_s"] = time.perf_counter() - started
        out["active_calls"] = dict(calls)
        out["active_rows"] = Saga.objects.filter(status__in=("running", "waiting")).count()
        print(
            f"incremental sync, {out['active_rows']} active: {out['active_s']:.2f} s, {dict(calls)}"
        )

        finish_everything(w)
        actions.sync_all_kinds()  # reads how they ended
        calls.clear()
        started = time.perf_counter()
        actions.sync_all_kinds()
        out["empty_s"] = time.perf_counter() - started
        out["empty_calls"] = dict(calls)
        print(f"empty sync: {out['empty_s'] * 1000:.0f} ms, {dict(calls)}", flush=True)
        for c in hooked:
            c.meta.events.unregister("before-call", count)

        # --- search: the read model at 100,000 rows against the AWS way ----------------
        synthetic_sagas(100_000 - Saga.objects.count())
        client = viewer()
        newest_first = list(
            stepfunctions.iter_executions(w.order_state_machine_arn, page_size=1000)
        )
        depths = [len(newest_first) // 10, len(newest_first) // 2]
        targets = [Saga.objects.get(execution_arn=newest_first[d].arn) for d in depths]

        console = []
        for saga in targets:
            for q in (saga.business_key, saga.correlation_id):
                expected = f"/sagas/{saga.kind}/{saga.pk}/"

                def find(q: str = q, expected: str = expected) -> Any:
                    response = client.get("/sagas/search/", {"q": q})
                    assert response.status_code == 302 and response["Location"] == expected
                    return response

                ms, _ = median_ms(find, runs=20, warmup=2)
                console.append(ms)
        out["console_ms"] = statistics.median(console)

        def the_aws_way(order_id: str) -> tuple[float, int]:
            """Page ListExecutions, describe each until the input names the order."""
            started = time.perf_counter()
            listing = stepfunctions.iter_executions(w.order_state_machine_arn, page_size=1000)
            for described, e in enumerate(listing, 1):
                execution = stepfunctions.describe_execution(e.arn)
                data = json.loads(execution.input or "{}").get("data", {}) if execution else {}
                if data.get("orderId") == order_id:
                    return (time.perf_counter() - started) * 1000, described
            raise SystemExit(f"order {order_id} not found the AWS way")

        manual = [the_aws_way(s.business_key) for s in targets]
        out["manual"] = manual
        out["manual_ms"] = statistics.median(m for m, _ in manual)
        out["depths"] = depths
        out["ratio"] = out["manual_ms"] / out["console_ms"]
        print(
            f"search: console median {out['console_ms']:.2f} ms; the AWS way "
            f"{[round(m) for m, _ in manual]} ms ({[d for _, d in manual]} described); "
            f"ratio {out['ratio']:.0f}x",
            flush=True,
        )

    initial_ok = out["initial_s"] <= INITIAL_TARGET_S
    empty_lists = out["empty_calls"].get("ListExecutions", 0)
    empty_ok = out["empty_s"] <= EMPTY_TARGET_S and out["empty_calls"] == {"ListExecutions": 2}
    search_ok = out["console_ms"] <= SEARCH_TARGET_MS and out["ratio"] >= RATIO_TARGET
    ok = initial_ok and empty_ok and search_ok

    def calls_text(c: dict[str, int]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(c.items())) or "none"

    if not args.no_write:
        write_block(
            "Sync from the emulator and search against the AWS way (bench/sagas_sync.py)",
            [
                f"{out['executions']:,} executions in the emulator ({where}): the seeded world "
                f"({args.seeded_orders} orders and {args.seeded_closures} closures in every "
                f"outcome) plus duplicate order submissions rejected by ValidateOrder; "
                f"{out['running_before']} left running or waiting. Database {vendor}, {stamp()}.",
                "",
                "| measure | value | target |",
                "|---|---|---|",
                f"| initial sync of {out['initial_rows']:,} executions | "
                f"{out['initial_s']:.1f} s | <= {INITIAL_TARGET_S:.0f} s "
                f"({'met' if initial_ok else 'MISSED'}) |",
                f"| its AWS calls | {calls_text(out['initial_calls'])} | |",
                f"| then: where each of {out['backlog']:,} failed executions failed (history "
                f"tails beyond the first sync's budget), read by the next syncs | "
                f"{out['backfill_syncs']} syncs, {out['backfill_s']:.1f} s | |",
                f"| next sync, nothing new, {out['active_rows']} sagas still active | "
                f"{out['active_s'] * 1000:.0f} ms ({calls_text(out['active_calls'])}) | |",
                f"| sync with nothing new and nothing running | {out['empty_s'] * 1000:.0f} ms, "
                f"{calls_text(out['empty_calls'])} | <= 1 s, 1 ListExecutions per state machine "
                f"({'met' if empty_ok else 'MISSED'}; {empty_lists} for 2 state machines) |",
                f"| search in the read model (100,000 sagas), business key or correlation id, "
                f"median | {out['console_ms']:.2f} ms | <= {SEARCH_TARGET_MS:.0f} ms |",
                f"| the AWS way: ListExecutions pages + DescribeExecution until the input "
                f"matches, sagas {out['depths'][0]:,} and {out['depths'][1]:,} deep | "
                + " and ".join(f"{m / 1000:.1f} s ({d:,} described)" for m, d in out["manual"])
                + " | |",
                f"| ratio (median AWS way / median console search) | {out['ratio']:,.0f}x | "
                f">= {RATIO_TARGET:.0f}x ({'met' if search_ok else 'MISSED'}) |",
                "",
                f"Building the world took {out['world_seconds']:.0f} s (not measured).",
            ],
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
