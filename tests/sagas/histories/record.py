"""Record the histories of the demo world's well-known sagas into JSON fixtures.

    .venv/bin/python tests/sagas/histories/record.py

Builds the world in in-process moto (state machines really executed), seeds it, waits for
every saga to settle (finished, or waiting where it is meant to wait), and writes one file
per saga: what the timeline tests read. Task tokens are scrubbed before writing.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.conf import settings
    from moto import mock_aws

    settings.AWS_ENDPOINT_URL = None
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"  # noqa: S105
    from opsconsole.aws import clients, stepfunctions
    from sagas.actions import _scrub

    clients.reset_clients()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        from opsconsole.emulator import seed, world

        w = world.build()
        seed.seed(orders=9, closures=5, built=w, dead_letters=False)
        waiting = {"8842", "8844", "8850", "77"}
        deadline = time.monotonic() + 60
        while True:
            summaries = [
                e
                for arn in (w.order_state_machine_arn, w.closure_state_machine_arn)
                for e in stepfunctions.iter_executions(arn)
            ]
            unsettled = [
                e.name
                for e in summaries
                if e.status == "RUNNING" and e.name.split("-")[1] not in waiting
            ]
            if not unsettled or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        time.sleep(1.0)  # let the waiting ones reach their wait
        names = {v: k for k, v in seed.WELL_KNOWN.items()}
        for e in summaries:
            kind = "orders" if e.name.startswith("order-") else "closures"
            key = e.name.split("-")[1]
            events = stepfunctions.get_execution_history(e.arn)
            described = stepfunctions.describe_execution(e.arn)
            label = names.get(key, key)
            doc = {
                "kind": kind,
                "business_key": key,
                "seeded_as": label,
                "status": described.status if described else e.status,
                "events": [_scrub(ev) for ev in events],
            }
            path = HERE / f"{label}.json"
            path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
            print(f"{path.name}: {doc['status']}, {len(events)} events")


if __name__ == "__main__":
    main()
