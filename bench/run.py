"""Run every benchmark script in bench/ (files not starting with `_`), one after another.

    .venv/bin/python bench/run.py [NAME ...]     # e.g. sagas_list approvals_latency

Each script measures, prints, updates bench/RESULTS.md and exits non-zero when it misses
its target. This runner only finds and runs them, and says which ones missed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def scripts(names: list[str]) -> list[Path]:
    found = sorted(
        p for p in HERE.glob("*.py") if p.name != "run.py" and not p.name.startswith("_")
    )
    if names:
        wanted = {n.removesuffix(".py") for n in names}
        found = [p for p in found if p.stem in wanted]
    return found


def main() -> int:
    todo = scripts(sys.argv[1:])
    if not todo:
        print("no benchmark scripts found")
        return 1
    failed = []
    for path in todo:
        print(f"== {path.name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(path)], cwd=HERE.parent)
        print(
            f"== {path.name}: {'ok' if code == 0 else f'exit {code}'} "
            f"in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        if code:
            failed.append(path.name)
    if failed:
        print("missed or failed: " + ", ".join(failed))
        return 1
    print(f"all {len(todo)} benchmarks met their targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
