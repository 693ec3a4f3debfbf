from __future__ import annotations

import pytest

from opsconsole.audit.log import Actor, attempt
from opsconsole.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_it_records_intent_then_outcome_under_one_attempt_id():
    with attempt(
        Actor.system(), "saga.redrive", target_type="saga", target_id="order-1", ticket="INC-7"
    ):
        pass
    started, outcome = AuditEvent.objects.order_by("id")
    assert (started.result, outcome.result) == ("started", "succeeded")
    assert started.attempt_id == outcome.attempt_id and outcome.ticket == "INC-7"


def test_it_records_a_failure_when_the_action_raises():
    with (
        pytest.raises(RuntimeError),
        attempt(Actor.system(), "x", target_type="saga", target_id="1"),
    ):
        raise RuntimeError("downstream said no")
    assert AuditEvent.objects.order_by("-id").first().error == "RuntimeError: downstream said no"


def test_it_records_a_refusal():
    with attempt(Actor.system(), "x", target_type="saga", target_id="1") as a:
        a.refused("four eyes")
    assert list(AuditEvent.objects.order_by("id").values_list("result", flat=True)) == [
        "started",
        "refused",
    ]
