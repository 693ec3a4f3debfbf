"""The configuration file: the demo registry loads; each kind of bad file names file, line
and field instead of raising a traceback."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from opsconsole.recovery.config import archives, dlqs
from opsconsole.registry import RegistryError, json_path_get, load

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"

MINIMAL = """\
environments:
  - name: prod
    region: eu-west-1
saga_kinds:
  - key: orders
    label: Orders
    environment: prod
    state_machine: OrderFulfillment
    business_key: $.data.orderId
    correlation_id: $.meta.correlationId
    initiator: $.meta.initiator
    table: orders
    key_template: "ORDER#{key}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "registry.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path: Path, text: str) -> RegistryError:
    with pytest.raises(RegistryError) as caught:
        load(write(tmp_path, text))
    return caught.value


def test_it_loads_the_demo_registry_with_both_kinds():
    registry = load(DEMO)
    assert set(registry.kinds) == {"orders", "closures"}
    orders = registry.kinds["orders"]
    assert orders.pk_for("8842") == "ORDER#8842"
    assert "MarkCompensated" in orders.compensation_steps
    assert registry.kinds["closures"].four_eyes is True
    assert {q.name for q in registry.approval_queues} == {"order-approvals", "closure-approvals"}
    assert {d.name: d for d in dlqs(registry)}["order-events-rule-dlq"].mechanism == (
        "eventbridge_rule"
    )
    assert {a.name: a for a in archives(registry)}["orders-archive"].bus == "orders-bus"


def test_it_loads_a_minimal_file_with_defaults(tmp_path):
    registry = load(write(tmp_path, MINIMAL))
    kind = registry.kinds["orders"]
    assert kind.singular == "order"
    assert kind.sla_for("Anything") == 300
    assert dlqs(registry) == ()


def test_it_names_file_and_line_of_a_syntax_error(tmp_path):
    err = error_for(tmp_path, MINIMAL + "  - key: [unclosed\n")
    assert err.path.endswith("registry.yaml")
    assert err.line is not None and err.line >= 15
    assert "registry.yaml:" in str(err)


def test_it_names_a_missing_required_field(tmp_path):
    err = error_for(tmp_path, MINIMAL.replace("    state_machine: OrderFulfillment\n", ""))
    assert err.field_name == "saga_kinds[0].state_machine"
    assert "required" in err.reason
    assert err.line == 5


def test_it_says_file_line_and_field_in_one_message(tmp_path):
    path = write(tmp_path, MINIMAL.replace("    state_machine: OrderFulfillment\n", ""))
    with pytest.raises(RegistryError) as caught:
        load(path)
    assert str(caught.value) == f"{path}:5: saga_kinds[0].state_machine: is required"


def test_it_names_an_unknown_top_level_section_and_its_line(tmp_path):
    err = error_for(tmp_path, MINIMAL + "dead_letters: []\n")
    assert err.field_name == "dead_letters"
    assert "not a known field" in err.reason
    assert err.line == 14


def test_it_has_each_section_parsed_by_the_app_that_owns_it():
    from django.apps import apps

    owners = {
        section.key: config.label
        for config in apps.get_app_configs()
        for section in getattr(config, "registry_sections", list)()
    }
    assert owners == {
        "saga_kinds": "sagas",
        "saga_sync": "sagas",
        "approval_queues": "approvals",
        "dlqs": "recovery",
        "archives": "recovery",
        "alert_rules": "monitoring",
        "notification_channels": "integrations",
    }


def test_it_checks_a_dlq_kind_against_the_saga_kinds(tmp_path):
    text = MINIMAL + "dlqs:\n  - name: a\n    queue: q\n    kind: refunds\n"
    err = error_for(tmp_path, text)
    assert err.field_name == "dlqs[0].kind"
    assert err.line == 17
    assert "refunds" in err.reason and "orders" in err.reason


def test_it_refuses_a_metric_alert_rule_without_its_metric(tmp_path):
    text = MINIMAL + "alert_rules:\n  - name: a\n    threshold: 1\n    namespace: AWS/SQS\n"
    err = error_for(tmp_path, text)
    assert err.field_name == "alert_rules[0].metric"
    assert err.line == 15


def test_it_names_the_line_of_a_wrongly_typed_value(tmp_path):
    text = MINIMAL + "    default_step_sla_seconds: soon\n"
    err = error_for(tmp_path, text)
    assert err.field_name == "saga_kinds[0].default_step_sla_seconds"
    assert err.line == 14
    assert "integer" in err.reason


def test_it_refuses_an_unknown_field_as_a_likely_typo(tmp_path):
    err = error_for(tmp_path, MINIMAL + "    four_eys: true\n")
    assert err.field_name == "saga_kinds[0].four_eys"
    assert "not a known field" in err.reason
    assert err.line == 14


def test_it_refuses_a_reference_to_an_unknown_environment(tmp_path):
    err = error_for(tmp_path, MINIMAL.replace("environment: prod", "environment: staging"))
    assert err.field_name == "saga_kinds[0].environment"
    assert "staging" in err.reason and "prod" in err.reason


def test_it_refuses_a_bad_json_path(tmp_path):
    err = error_for(tmp_path, MINIMAL.replace("$.data.orderId", "data.orderId"))
    assert err.field_name == "saga_kinds[0].business_key"
    assert "JSON path" in err.reason


def test_it_refuses_duplicate_names(tmp_path):
    text = MINIMAL + textwrap.dedent(
        """\
        dlqs:
          - name: a
            queue: q1
          - name: a
            queue: q2
        """
    )
    err = error_for(tmp_path, text)
    assert err.field_name == "dlqs[1].name"
    assert "already used at line 15" in err.reason


def test_it_refuses_an_unknown_choice(tmp_path):
    text = MINIMAL + "dlqs:\n  - name: a\n    queue: q\n    mechanism: carrier-pigeon\n"
    err = error_for(tmp_path, text)
    assert err.field_name == "dlqs[0].mechanism"
    assert "sqs_redrive" in err.reason


def test_it_refuses_an_approval_queue_of_an_unknown_kind(tmp_path):
    text = MINIMAL + textwrap.dedent(
        """\
        approval_queues:
          - name: a
            kind: refunds
            queue: q
            token: $.taskToken
            business_key: $.id
        """
    )
    err = error_for(tmp_path, text)
    assert err.field_name == "approval_queues[0].kind"
    assert "refunds" in err.reason


def test_it_refuses_a_key_template_without_the_key(tmp_path):
    err = error_for(tmp_path, MINIMAL.replace('"ORDER#{key}"', '"ORDER#"'))
    assert err.field_name == "saga_kinds[0].key_template"


def test_it_refuses_an_empty_or_missing_file(tmp_path):
    assert "empty" in error_for(tmp_path, "").reason
    with pytest.raises(RegistryError) as caught:
        load(tmp_path / "nope.yaml")
    assert "does not exist" in str(caught.value)


def test_it_refuses_a_file_without_kinds(tmp_path):
    err = error_for(tmp_path, "environments:\n  - name: a\n    region: eu-west-1\n")
    assert err.field_name == "saga_kinds"


def test_it_stops_a_management_command_with_the_message_not_a_traceback(tmp_path):
    import subprocess
    import sys

    from opsconsole.settings import child_env

    bad = write(tmp_path, MINIMAL.replace("    state_machine: OrderFulfillment\n", ""))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=child_env(OPSCONSOLE_REGISTRY=str(bad), DJANGO_SETTINGS_MODULE="tests.settings"),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.returncode != 0
    assert f"{bad}:5: saga_kinds[0].state_machine: is required" in result.stderr
    assert "Traceback" not in result.stderr


def test_it_reads_json_paths_and_misses_cleanly():
    doc = {"data": {"orderId": "8842", "customer": {"email": "x@example.com"}}}
    assert json_path_get(doc, "$.data.orderId") == "8842"
    assert json_path_get(doc, "$.data.missing.deeper") is None
    assert json_path_get(doc, "$") == doc
