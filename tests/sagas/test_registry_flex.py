"""The registry says what other state machines need, and changes without a restart."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path

import pytest

from opsconsole import registry as registry_module
from opsconsole.registry import get_registry, load, reload_problem, reset_registry
from sagas import sync

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.yaml"

FOREIGN_KIND = """
  - key: parcels
    label: Parcels
    environment: demo
    state_machine: ParcelRouting
    business_key: $.parcel.id
    correlation_id: $.trace
    initiator: $.requestedBy
    steps: [Route, Hand over]
    compensation_steps: [Recall]
    notification_steps: [PageOnCall]
"""


def with_kind(extra: str) -> str:
    text = DEMO.read_text()
    return text.replace("\napproval_queues:", extra + "\napproval_queues:", 1)


def test_it_accepts_a_kind_without_business_state_and_with_an_alert_branch(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(with_kind(FOREIGN_KIND))
    kind = load(path).kinds["parcels"]
    assert kind.table is None
    assert kind.notification_steps == frozenset({"PageOnCall"})
    # No table: the sync asks DynamoDB nothing and fails nothing.
    statuses, calls = sync.fetch_business_statuses(kind, ["P-1"], env=None)  # type: ignore[arg-type]
    assert statuses == {} and calls == 0


def test_it_reads_an_item_layout_of_its_own(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(
        with_kind(
            FOREIGN_KIND
            + '    table: parcels\n    pk_attribute: PK\n    key_template: "PARCEL#{key}"\n'
            + "    sort_key_attribute: SK\n    status_item_keys: [STATE, HEADER]\n"
        )
    )
    kind = load(path).kinds["parcels"]
    assert sync.status_item_keys(kind, "P-1") == [
        {"PK": "PARCEL#P-1", "SK": "STATE"},
        {"PK": "PARCEL#P-1", "SK": "HEADER"},
    ]


def test_it_refuses_a_step_that_is_both_compensation_and_notification(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(with_kind(FOREIGN_KIND.replace("[PageOnCall]", "[PageOnCall, Recall]")))
    with pytest.raises(registry_module.RegistryError) as caught:
        load(path)
    assert "notification_steps" in str(caught.value)
    assert "also a compensation step" in str(caught.value)


def test_it_reads_where_an_approval_message_keeps_correlation_id_and_initiator(tmp_path):
    path = tmp_path / "r.yaml"
    text = DEMO.read_text().replace(
        "    execution: $.executionArn\n    amount: $.amount",
        "    execution: $.executionArn\n    correlation_id: $.meta.trace\n"
        "    initiator: $.meta.who\n    amount: $.amount",
        1,
    )
    path.write_text(text)
    queue = load(path).approval_queue("order-approvals")
    assert queue.correlation_id_path == "$.meta.trace"
    assert queue.initiator_path == "$.meta.who"


@pytest.fixture
def live_registry(tmp_path, settings, monkeypatch):
    path = tmp_path / "live.yaml"
    path.write_text(DEMO.read_text())
    settings.REGISTRY_PATH = str(path)
    monkeypatch.setattr(registry_module, "RELOAD_CHECK_SECONDS", 0)
    reset_registry()
    yield path
    reset_registry()


def _touch(path: Path, text: str) -> None:
    import os

    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_it_reloads_a_changed_registry_without_a_restart(live_registry):
    assert "parcels" not in get_registry().kinds
    _touch(live_registry, with_kind(FOREIGN_KIND))
    assert "parcels" in get_registry().kinds
    assert reload_problem() == ""


@pytest.mark.django_db
def test_it_keeps_the_old_registry_when_the_new_one_is_invalid_and_says_so(
    live_registry, viewer_client, caplog
):
    get_registry()
    bad = textwrap.dedent(with_kind(FOREIGN_KIND.replace("    environment: demo\n", "")))
    with caplog.at_level(logging.ERROR, logger="opsconsole.registry"):
        _touch(live_registry, bad)
        assert set(get_registry().kinds) == {"orders", "closures"}
    assert "saga_kinds[2].environment: is required" in reload_problem()
    assert any("still using the one loaded" in r.getMessage() for r in caplog.records)
    html = viewer_client.get("/sagas/orders/").content.decode()
    assert "data-registry-problem" in html
    assert "keeps using the previous one" in html
    assert "saga_kinds[2].environment: is required" in html
    # Fixed again: the problem goes away and the new kind appears.
    _touch(live_registry, with_kind(FOREIGN_KIND))
    assert "parcels" in get_registry().kinds and reload_problem() == ""


def test_it_writes_the_environment_commands_beside_the_demo_need(tmp_path):
    from opsconsole.management.commands.demo import _write_command_env

    _write_command_env(
        tmp_path,
        {
            "OPSCONSOLE_AWS_ENDPOINT_URL": "http://127.0.0.1:5140",
            "OPSCONSOLE_LOCAL_KEYS": "1",
            "OPSCONSOLE_VAR_DIR": str(tmp_path),
            "OPSCONSOLE_OIDC_MOCK_PORT": "9440",  # the commands need not know it
        },
    )
    text = (tmp_path / "demo.env").read_text()
    assert "OPSCONSOLE_AWS_ENDPOINT_URL=http://127.0.0.1:5140\n" in text
    assert "OPSCONSOLE_LOCAL_KEYS=1\n" in text
    assert "set -a; . var/demo.env; set +a; python manage.py sync_sagas" in text
    assert "OIDC" not in text
