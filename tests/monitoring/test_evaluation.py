"""The alert lifecycle as pure functions: no database, no AWS."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from opsconsole.monitoring import evaluation as ev
from opsconsole.monitoring.config import AlertRule

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
RULE = AlertRule(
    name="dlq-not-empty",
    description="",
    severity="critical",
    comparison=">",
    threshold=0,
    signal="dlq_depth",
)


def run(rule, values, *, every=15, memory=None):
    """Feed one observation per tick; return the states after each."""
    memory = memory or ev.Memory()
    states = []
    for i, value in enumerate(values):
        now = T0 + timedelta(seconds=every * i)
        obs = (
            ev.Observation(value=None, error=value)
            if isinstance(value, str)
            else ev.Observation(value)
        )
        memory = ev.step(rule, memory, obs, now).after
        states.append(memory.state)
    return states


def test_it_fires_at_once_without_for_and_resolves_when_the_condition_stops():
    assert run(RULE, [0, 3, 3, 0, 0]) == ["normal", "firing", "firing", "resolved", "resolved"]


def test_it_waits_out_for_in_pending_and_forgets_a_blip():
    rule = replace(RULE, for_seconds=30)
    # 15 s ticks: pending at 15 s, still pending at 30 s (15 s held), firing at 45 s.
    assert run(rule, [0, 1, 1, 1, 1]) == ["normal", "pending", "pending", "firing", "firing"]
    assert run(rule, [1, 0, 1]) == ["pending", "normal", "pending"]


def test_keep_firing_for_rides_out_a_flapping_signal():
    rule = replace(RULE, keep_firing_for_seconds=60)
    states = run(rule, [1, 0, 1, 0, 0, 0, 0, 0])
    assert states[:6] == ["firing"] * 6  # 0 for 15..60 s after the last true: still firing
    assert states[-1] == "resolved"
    assert states.count("resolved") <= 2


def test_no_data_and_errors_say_so_unless_the_rule_says_otherwise():
    assert run(RULE, [None, 1, None]) == ["nodata", "firing", "nodata"]
    assert run(RULE, ["AccessDenied"]) == ["error"]
    assert run(replace(RULE, no_data="ok"), [1, None]) == ["firing", "resolved"]
    assert run(replace(RULE, no_data="firing"), [None]) == ["firing"]
    assert run(replace(RULE, no_data="keep"), [1, None, None]) == ["firing"] * 3
    assert run(replace(RULE, on_error="keep"), [1, "boom"]) == ["firing", "firing"]
    assert run(RULE, [None, 0]) == ["nodata", "normal"]


def test_each_change_is_reported_once():
    memory = ev.Memory()
    changes = 0
    for i in range(40):  # 10 minutes of 15 s ticks, over the threshold every time
        outcome = ev.step(RULE, memory, ev.Observation(5), T0 + timedelta(seconds=15 * i))
        changes += outcome.changed
        memory = outcome.after
    assert changes == 1


@pytest.mark.parametrize(
    ("statistic", "expected"),
    [("last", 2.0), ("avg", 2.0), ("min", 1.0), ("max", 3.0), ("sum", 6.0), ("count", 3.0)],
)
def test_it_reduces_a_window(statistic, expected):
    assert ev.reduce(statistic, [1.0, 3.0, 2.0]) == expected
    assert ev.reduce(statistic, []) is None


def test_the_repeat_interval_reminds_a_firing_alert_only():
    rule = replace(RULE, repeat_interval_seconds=3600)
    assert not ev.repeat_due(rule, "firing", T0, T0 + timedelta(minutes=59))
    assert ev.repeat_due(rule, "firing", T0, T0 + timedelta(minutes=60))
    assert not ev.repeat_due(rule, "resolved", T0, T0 + timedelta(hours=2))


def test_silences_match_every_matcher_and_groups_follow_group_by():
    labels = ev.alert_labels(replace(RULE, labels={"team": "pay"}), {"dlq": "payments-dlq"})
    assert labels["alertname"] == "dlq-not-empty" and labels["team"] == "pay"
    assert ev.matches({"alertname": "dlq-not-empty"}, labels)
    assert not ev.matches({"alertname": "dlq-not-empty", "dlq": "other"}, labels)
    assert not ev.matches({}, labels)
    rule = replace(RULE, group_by=("alertname", "dlq"))
    assert ev.group_key(rule, labels) == "alertname=dlq-not-empty,dlq=payments-dlq"


def test_a_greater_alert_inhibits_the_lesser_one_it_explains():
    critical = replace(
        RULE, name="closures-past-sla", inhibits=("closures-step-sla",), inhibit_equal=("kind",)
    )
    warning = replace(RULE, name="closures-step-sla", severity="warning")
    rules = {r.name: r for r in (critical, warning)}
    firing = [ev.FiringAlert("closures-past-sla", "critical", {"kind": "closures"})]
    assert ev.inhibited(warning, {"kind": "closures"}, firing, rules) is not None
    assert ev.inhibited(warning, {"kind": "orders"}, firing, rules) is None
    assert ev.inhibited(critical, {"kind": "closures"}, firing, rules) is None


def test_target_and_match_pick_the_series_a_rule_watches():
    rule = replace(RULE, target="closures", match={"step": "HandleBilling"})
    assert ev.series_wanted(rule, ("kind", "step"), {"kind": "closures", "step": "HandleBilling"})
    assert not ev.series_wanted(rule, ("kind", "step"), {"kind": "orders", "step": "HandleBilling"})
    assert not ev.series_wanted(rule, ("kind", "step"), {"kind": "closures", "step": "Other"})
