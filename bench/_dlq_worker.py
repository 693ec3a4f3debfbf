"""A Celery worker's part in the DLQ redrive benchmark: work one job until it is done.

    python bench/_dlq_worker.py JOB_ID EMULATOR_URL LEASE_SECONDS

Run as its own process so the benchmark can kill it (SIGKILL) halfway, as a crash would.
The lease is shortened (the framework's is 60 s) so the restarted worker takes the job over
without the benchmark waiting a minute."""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT  # noqa: E402, F401  (sets Django up)

from opsconsole.aws import clients  # noqa: E402
from opsconsole.recovery import jobs  # noqa: E402
from opsconsole.recovery.models import Job  # noqa: E402

job_id, endpoint, lease = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
clients.set_endpoint_override(endpoint)
jobs.LEASE = timedelta(seconds=lease)
while True:
    if jobs.run(job_id) == "continue":
        continue
    if Job.objects.get(pk=job_id).state not in (Job.PENDING, Job.RUNNING):
        break
    # Held by a runner that died: what the tend_jobs beat does, take it over when its lease
    # runs out.
    time.sleep(0.25)
