"""Rules are config as code, refused with file, line and field; samples are kept with
retention and rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from opsconsole.monitoring import retention, series
from opsconsole.monitoring.config import alert_rules
from opsconsole.monitoring.models import Sample
from opsconsole.registry import RegistryError, load
from tests.platform.test_registry import DEMO, MINIMAL


def test_the_demo_rules_load_with_their_lifecycle_settings():
    rules = {r.name: r for r in alert_rules(load(DEMO))}
    dlq = rules["dlq-not-empty"]
    assert dlq.signal == "dlq_depth" and dlq.window_seconds == 120
    assert dlq.group_by == ("alertname", "dlq") and dlq.repeat_interval_seconds == 3600
    assert rules["closures-past-sla"].inhibits == ("closures-step-sla",)
    assert rules["orders-compensation-rate"].keep_firing_for_seconds == 300


@pytest.mark.parametrize(
    ("rule", "field", "reason"),
    [
        ("    for: soon\n", "alert_rules[0].for", "must be a duration like 5m"),
        ("    statistic: median\n", "alert_rules[0].statistic", "must be one of"),
        ("    no_data: shrug\n", "alert_rules[0].no_data", "must be one of"),
        ("    inhibits: [nope]\n", "alert_rules[0].inhibits", "names no rule"),
        ("    channels: oncall\n", "alert_rules[0].channels", "must be a list"),
        ("    channels: [pager]\n", "alert_rules[0].channels", "names no notification channel"),
        ("    colour: red\n", "alert_rules[0].colour", "is not a known field"),
    ],
)
def test_it_refuses_a_bad_rule_naming_file_line_and_field(tmp_path, rule, field, reason):
    text = MINIMAL + "alert_rules:\n  - name: a\n    signal: dlq_depth\n    threshold: 1\n" + rule
    path = tmp_path / "registry.yaml"
    path.write_text(text)
    with pytest.raises(RegistryError) as err:
        load(path)
    assert err.value.field_name == field
    assert reason in err.value.reason
    assert err.value.line == text.count("\n")  # the rule's last line is the bad one
    assert str(err.value).startswith(f"{path}:{err.value.line}: {field}: ")


@pytest.mark.django_db
def test_it_rolls_samples_up_and_prunes_them_past_their_retention(settings):
    settings.MONITORING_ROLLUP_SECONDS = 300
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    key = series.signal_key("dlq_depth", {"dlq": "a"})
    series.write(
        [
            (key, now - timedelta(minutes=10) + timedelta(seconds=15 * i), float(i))
            for i in range(20)
        ]
    )
    series.write([(key, now - timedelta(days=3), 1.0)])
    Sample.objects.create(series=key, at=now - timedelta(days=40), resolution=300, value=1)
    assert retention.rollup(now) == 1  # the whole bucket 11:50-11:55 (20 samples)
    assert retention.rollup(now) == 1  # again: the same bucket, upserted
    bucket = Sample.objects.get(resolution=300, at=now - timedelta(minutes=10))
    assert (bucket.minimum, bucket.maximum, bucket.count) == (0.0, 19.0, 20)
    assert bucket.value == pytest.approx(9.5)
    removed = retention.prune(now)
    assert removed["raw"] == 1 and removed["rollups"] == 1
    assert Sample.objects.filter(resolution=0).count() == 20
