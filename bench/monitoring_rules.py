"""Alert evaluation: 1,000 rules in one tick <= 1 s; a signal over its threshold every tick
for 10 minutes gives one notification event, not twenty; a notify task delivered twice
emits once (DESIGN.md, "Numbers we hold ourselves to").

A registered signal with 200 series feeds 1,000 rules (each watching one series, a fifth of
them over threshold); a tick is `engine.evaluate_rules` (signals read and stored, windows
read, every alert stepped, changes written) plus `notify.process`. SQLite, scratch dir.

    .venv/bin/python bench/monitoring_rules.py [--rules 1000] [--no-write]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _django import ROOT  # noqa: E402, F401  (sets Django up)
from _monitoring_common import write_block  # noqa: E402
from django.core.management import call_command  # noqa: E402

TARGET_TICK = 1.0
SERIES = 200
VALUES: dict[str, float] = {}


def bench_signal(now: datetime) -> list[tuple[dict[str, str], float]]:
    return [({"queue": name}, value) for name, value in VALUES.items()]


def run(n_rules: int, ticks: int) -> dict[str, float]:
    from opsconsole import events, plugins
    from opsconsole.monitoring import engine, notify
    from opsconsole.monitoring.config import AlertRule
    from opsconsole.monitoring.models import Alert, Transition

    call_command("migrate", verbosity=0)
    from django.urls import reverse

    reverse("monitoring:alerts")  # a running worker has its URL conf loaded already
    plugins.register_signal(
        plugins.Signal("bench_depth", ("queue",), f"{__name__}.bench_signal", "bench")
    )
    told: list[events.DomainEvent] = []
    events.subscribe("bench", told.append, types=["alert.firing", "alert.resolved"])
    base = AlertRule(
        name="r",
        description="bench",
        severity="warning",
        comparison=">",
        threshold=0,
        signal="bench_depth",
        window_seconds=60,
        repeat_interval_seconds=3600,
    )
    VALUES.update({f"q{i}": float(i % 5 == 0) for i in range(SERIES)})
    rules = [
        replace(base, name=f"rule-{i}", match={"queue": f"q{i % SERIES}"}) for i in range(n_rules)
    ]
    t0 = datetime.now(UTC)
    times = []
    for i in range(ticks):
        began = time.monotonic()
        engine.evaluate_rules(t0 + timedelta(seconds=15 * i), rules=rules)
        notify.process(t0 + timedelta(seconds=15 * i), rules=rules)
        times.append(time.monotonic() - began)
    firing = Alert.objects.filter(state="firing").count()

    # One rule, its signal over the threshold every 15 s tick for 10 minutes.
    Alert.objects.all().delete()
    told.clear()
    one = [replace(base, name="steady", match={"queue": "q0"})]
    t1 = t0 + timedelta(hours=1)
    for i in range(40):
        engine.evaluate_rules(t1 + timedelta(seconds=15 * i), rules=one)
        notify.process(t1 + timedelta(seconds=15 * i), rules=one)
    steady_events = len(told)

    # A flapping signal (over, under, over ...) with keep_firing_for 2 minutes.
    told.clear()
    flappy = [replace(base, name="flappy", match={"queue": "q1"}, keep_firing_for_seconds=120)]
    t2 = t0 + timedelta(hours=2)
    for i in range(40):
        VALUES["q1"] = float(i % 2 == 0)
        engine.evaluate_rules(t2 + timedelta(seconds=15 * i), rules=flappy)
        notify.process(t2 + timedelta(seconds=15 * i), rules=flappy)
    flapping_events = len(told)

    # A notify task delivered twice (and the evaluation too).
    told.clear()
    VALUES["q2"] = 1.0
    twice = [replace(base, name="twice", match={"queue": "q2"})]
    t3 = t0 + timedelta(hours=3)
    engine.evaluate_rules(t3, rules=twice)
    engine.evaluate_rules(t3, rules=twice)
    notify.process(t3, rules=twice)
    notify.process(t3, rules=twice)
    twice_events = len(told)
    events.unsubscribe("bench")
    return {
        "rules": n_rules,
        "ticks": ticks,
        "median": statistics.median(times[1:]) if len(times) > 1 else times[0],
        "first": times[0],
        "max": max(times),
        "steady_max": max(times[1:]) if len(times) > 1 else times[0],
        "firing": firing,
        "steady": steady_events,
        "flapping": flapping_events,
        "twice": twice_events,
        "transitions": Transition.objects.count(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    r = run(args.rules, args.ticks)
    ok = (
        r["steady_max"] <= TARGET_TICK
        and r["steady"] == 1
        and r["flapping"] == 1
        and r["twice"] == 1
    )
    print(
        f"rules: {r['rules']} per tick, first {r['first']:.3f} s, median {r['median']:.3f} s, "
        f"max {r['max']:.3f} s; steady {r['steady']} event, flapping {r['flapping']}, "
        f"delivered twice {r['twice']}"
    )
    if not args.no_write:
        write_block(
            "Alert evaluation (bench/monitoring_rules.py)",
            [
                f"{r['rules']} rules on one registered signal of {SERIES} series "
                f"({int(r['firing'])} alerts firing), {r['ticks']} ticks of 15 s, "
                f"SQLite, {datetime.now(UTC):%Y-%m-%d}.",
                "",
                "| measure | value | target |",
                "|---|---|---|",
                f"| one tick (signals stored, windows read, {r['rules']} alerts stepped and "
                f"written, notify pass) | first {r['first']:.2f} s (creates the alerts), median "
                f"{r['median']:.2f} s, max after the first {r['steady_max']:.2f} s | <= "
                f"{TARGET_TICK:.0f} s ({'met' if r['steady_max'] <= TARGET_TICK else 'MISSED'}) |",
                f"| notification events, signal over threshold every tick for 10 minutes | "
                f"{r['steady']} | 1 |",
                f"| notification events, signal flapping every tick for 10 minutes "
                f"(keep_firing_for 2 min) | {r['flapping']} | 1 |",
                f"| notification events, evaluation and notify task each delivered twice | "
                f"{r['twice']} | 1 |",
            ],
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
