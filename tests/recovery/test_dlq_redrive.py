"""Sending dead letters back and deleting them: each message once, never lost, audited."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from opsconsole import events
from opsconsole.audit.log import Actor
from opsconsole.audit.models import AuditEvent
from opsconsole.aws import provisioning, sqs
from opsconsole.errors import InvalidInput, PermissionRefused
from opsconsole.recovery import jobs
from opsconsole.recovery.dlq import actions, handlers, sendback
from opsconsole.recovery.models import DeadLetter, Job, JobItem

pytestmark = pytest.mark.django_db(transaction=True)

OLGA = Actor(type="user", id="olga@example.com", role="operator")
VERA = Actor(type="user", id="vera@example.com", role="viewer")


@pytest.fixture
def world(aws: None) -> Any:
    from opsconsole.emulator import world

    return world.build()


@pytest.fixture
def dlq_events() -> Any:
    seen: list[events.DomainEvent] = []
    events.subscribe(
        "test-dlq", seen.append, types=["dlq.messages_redriven", "dlq.messages_deleted"]
    )
    yield seen
    events.unsubscribe("test-dlq")


def _fill(queue: str, bodies: list[str], **attrs: str) -> list[DeadLetter]:
    provisioning.send_messages(
        queue,
        [provisioning.OutgoingMessage(b, tuple(attrs.items())) for b in bodies],
    )
    actions.look(queue, limit=100)
    return list(DeadLetter.objects.filter(dlq=queue).order_by("id"))


def _bodies(queue: str) -> list[str]:
    return sorted(m.body for m in sqs.peek_messages(queue, limit=500))


def test_it_sends_selected_messages_to_their_source_and_deletes_them_after(world, dlq_events):
    letters = _fill("payments-dlq", [json.dumps({"orderId": str(i)}) for i in range(12)])
    chosen = letters[:9]
    job, created = sendback.submit_redrive(
        chosen, actor=OLGA, ticket="INC0012345", reason="provider fixed", idempotency_key="k1"
    )
    job.refresh_from_db()
    assert created and job.state == Job.FINISHED
    assert job.counts()["succeeded"] == 9
    # Exactly the nine went back, once each; the other three stayed in the DLQ.
    assert _bodies("payments") == sorted(d.body for d in chosen)
    assert _bodies("payments-dlq") == sorted(d.body for d in letters[9:])
    items = list(job.items.order_by("seq"))
    assert all(i.result["new_id"] and i.result["target"] == "payments" for i in items)
    assert {d.state for d in DeadLetter.objects.filter(pk__in=[d.pk for d in chosen])} == {
        DeadLetter.REDRIVEN
    }
    kept = DeadLetter.objects.get(pk=chosen[0].pk)
    assert (kept.state_by, kept.ticket) == ("olga@example.com", "INC0012345")
    audit = AuditEvent.objects.filter(attempt_id=job.attempt_id).order_by("id")
    assert [a.result for a in audit] == ["started", "succeeded"]
    assert audit[0].ticket == "INC0012345" and audit[0].details["messages"] == 9
    assert [(e.type, e.data["succeeded"]) for e in dlq_events] == [("dlq.messages_redriven", 9)]
    # The same confirmation again (a double click, a client's retry) starts nothing new.
    again, created_again = sendback.submit_redrive(
        chosen, actor=OLGA, ticket="INC0012345", idempotency_key="k1"
    )
    assert (again.pk, created_again) == (job.pk, False)
    assert len(_bodies("payments")) == 9


def test_it_puts_eventbridge_dead_letters_on_their_bus_again(world):
    event = {
        "version": "0",
        "id": "e-1",
        "detail-type": "OrderPlaced",
        "source": "opsconsole.demo.orders",
        "detail": {"data": {"orderId": "9002"}},
        "resources": [],
    }
    from opsconsole.emulator import asl

    event["source"] = asl.EVENT_SOURCE
    letters = _fill(
        "order-events-rule-dlq",
        [json.dumps(event)],
        RULE_ARN=world.rule_arn,
        ERROR_CODE="SDK_CLIENT_ERROR",
        ERROR_MESSAGE="connect timed out",
    )
    assert letters[0].error_code == "SDK_CLIENT_ERROR"
    job, _ = sendback.submit_redrive(letters, actor=OLGA, ticket="INC1", idempotency_key="eb")
    item = job.items.get()
    assert item.state == JobItem.SUCCEEDED, item.error
    assert item.result["target"] == "orders-bus"
    delivered = [json.loads(b) for b in _bodies("order-events")]
    assert [d["detail"] for d in delivered] == [{"data": {"orderId": "9002"}}]
    assert _bodies("order-events-rule-dlq") == []


def test_a_lambda_that_cannot_be_invoked_leaves_the_message_in_its_dlq_with_the_reason(world):
    letters = _fill(
        "notify-customer-dlq",
        [json.dumps({"orderId": "8845"})],
        RequestID="r-1",
        ErrorCode="200",
        ErrorMessage="Task timed out",
    )
    job, _ = sendback.submit_redrive(letters, actor=OLGA, ticket="INC2", idempotency_key="lam")
    item = job.items.get()
    assert item.state == JobItem.FAILED
    assert "notify-customer" in item.error
    assert item.result["sent"] is False
    assert _bodies("notify-customer-dlq") == [json.dumps({"orderId": "8845"})]
    assert sqs.queue_stats("notify-customer-dlq").in_flight == 0  # released at once


def test_a_source_queue_that_no_longer_exists_keeps_the_message_with_a_clear_error(world):
    letters = _fill("shipments-dlq", ['{"orderId": "8847"}'])
    from opsconsole.aws import clients

    clients.client("sqs").delete_queue(QueueUrl=world.queue_urls["shipments"])
    job, _ = sendback.submit_redrive(letters, actor=OLGA, ticket="INC3", idempotency_key="gone")
    item = job.items.get()
    assert item.state == JobItem.FAILED
    assert "does not exist" in item.error
    assert _bodies("shipments-dlq") == ['{"orderId": "8847"}']
    assert DeadLetter.objects.get(pk=letters[0].pk).state == DeadLetter.PRESENT


def test_an_edited_message_goes_back_corrected_with_before_and_after_audited(world):
    original = {"orderId": "8847", "postcode": "ZZ9 9ZZ", "customerEmail": "c@example.net"}
    letters = _fill("shipments-dlq", [json.dumps(original)])
    letter = letters[0]
    # An operator sees the email masked; leaving the mask keeps the original value.
    edited = json.dumps({**original, "postcode": "EC1A 1BB", "customerEmail": "••••••"})
    job, _ = sendback.submit_edited(
        letter, edited, actor=OLGA, ticket="INC4", reason="postcode typo", idempotency_key="ed"
    )
    assert job.items.get().state == JobItem.SUCCEEDED
    sent = json.loads(_bodies("shipments")[0])
    assert sent == {**original, "postcode": "EC1A 1BB"}
    intent = AuditEvent.objects.filter(attempt_id=job.attempt_id).order_by("id").first()
    assert intent is not None
    assert '"postcode": "ZZ9 9ZZ"' in intent.details["before"]
    assert '"postcode": "EC1A 1BB"' in intent.details["after"]
    assert "c@example.net" not in json.dumps(intent.details)  # masked as the editor saw it
    assert '-  "postcode": "ZZ9 9ZZ"' in intent.details["diff"]


def test_an_edit_that_is_not_json_is_refused_before_anything_happens(world):
    letter = _fill("shipments-dlq", ['{"orderId": "8847"}'])[0]
    with pytest.raises(Exception) as refused:
        sendback.submit_edited(
            letter, '{"orderId": ', actor=OLGA, ticket="INC5", idempotency_key="bad"
        )
    assert "Not valid JSON" in str(refused.value.params["problem"])
    assert Job.objects.count() == 0


def test_deleting_keeps_the_snapshot_with_who_and_why(world, dlq_events):
    letters = _fill("closure-emails-dlq", ['{"accountId": "78"}', '{"accountId": "79"}'])
    with pytest.raises(InvalidInput):
        sendback.submit_delete(
            letters[:1], actor=OLGA, ticket="INC6", reason="", idempotency_key="d"
        )
    job, _ = sendback.submit_delete(
        letters[:1], actor=OLGA, ticket="INC6", reason="account closed by hand", idempotency_key="d"
    )
    assert job.items.get().state == JobItem.SUCCEEDED
    assert _bodies("closure-emails-dlq") == ['{"accountId": "79"}']
    gone = DeadLetter.objects.get(pk=letters[0].pk)
    assert (gone.state, gone.state_by, gone.state_reason) == (
        DeadLetter.DELETED,
        "olga@example.com",
        "account closed by hand",
    )
    assert gone.body == '{"accountId": "78"}'
    assert [e.type for e in dlq_events] == ["dlq.messages_deleted"]


def test_a_viewer_may_not_send_back_and_the_refusal_is_audited(world):
    letters = _fill("payments-dlq", ['{"orderId": "1"}'])
    with pytest.raises(PermissionRefused):
        sendback.submit_redrive(letters, actor=VERA, ticket="INC7", idempotency_key="v")
    assert AuditEvent.objects.filter(actor="vera@example.com", result="refused").count() == 1
    assert Job.objects.count() == 0


def _stranded(job: Job, step: str, **checkpoint: Any) -> JobItem:
    """Leave the job's item as a killed worker would: RUNNING, with its checkpoint."""
    item = job.items.get()
    item.state = JobItem.RUNNING
    item.checkpoint = {"step": step, **checkpoint}
    item.save()
    Job.objects.filter(pk=job.pk).update(state=Job.RUNNING, pending=0)
    return item


def test_a_worker_killed_after_the_send_deletes_without_sending_again(world, monkeypatch):
    letter = _fill("payments-dlq", ['{"orderId": "k"}'])[0]
    monkeypatch.setattr(jobs, "_enqueue", lambda job_id: None)  # no runner yet
    job, _ = sendback.submit_redrive([letter], actor=OLGA, ticket="INC8", idempotency_key="kill")
    # What the killed worker had done: held the message, sent it, checkpointed "sent".
    held = sqs.hold_messages("payments-dlq", hold_seconds=300)[0][0]
    sqs.send_message("payments", held.body)
    DeadLetter.objects.filter(pk=letter.pk).update(receipt_handle=held.receipt_handle)
    item = _stranded(job, "sent")
    jobs.run(job.pk)
    item.refresh_from_db()
    assert item.state == JobItem.SUCCEEDED
    assert _bodies("payments") == ['{"orderId": "k"}']  # once
    assert _bodies("payments-dlq") == []


def test_a_worker_killed_during_the_send_neither_resends_nor_deletes(world, monkeypatch):
    letter = _fill("payments-dlq", ['{"orderId": "s"}'])[0]
    monkeypatch.setattr(jobs, "_enqueue", lambda job_id: None)
    job, _ = sendback.submit_redrive([letter], actor=OLGA, ticket="INC9", idempotency_key="kill2")
    # The killed worker held the message (invisible for minutes) and was sending it.
    held = sqs.hold_messages("payments-dlq", hold_seconds=300)[0][0]
    DeadLetter.objects.filter(pk=letter.pk).update(
        receipt_handle=held.receipt_handle, held_until=timezone.now() + timedelta(minutes=5)
    )
    item = _stranded(job, "sending")
    jobs.run(job.pk)
    item.refresh_from_db()
    assert item.state == JobItem.FAILED
    assert item.result["ambiguous"] is True
    assert "may or may not" in item.error
    assert _bodies("payments") == []
    # Still in the DLQ, and visible there now for whoever checks it, not in five minutes.
    assert _bodies("payments-dlq") == ['{"orderId": "s"}']


class Killed(BaseException):
    """What SIGKILL does to a worker in the middle of a call, as far as the job can tell."""


def test_a_worker_killed_in_one_send_call_leaves_only_that_calls_messages_in_doubt(
    world, monkeypatch
):
    letters = _fill("payments-dlq", [json.dumps({"orderId": f"c{i}"}) for i in range(50)])
    monkeypatch.setattr(jobs, "_enqueue", lambda job_id: None)
    job, _ = sendback.submit_redrive(letters, actor=OLGA, ticket="INC9", idempotency_key="c")
    real_send = sqs.send_message_batch
    calls = []

    def dies_in_the_third_call(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise Killed
        return real_send(*args, **kwargs)

    monkeypatch.setattr(sqs, "send_message_batch", dies_in_the_third_call)
    with pytest.raises(Killed):
        jobs.run(job.pk)
    monkeypatch.setattr(sqs, "send_message_batch", real_send)
    Job.objects.filter(pk=job.pk).update(runner="", lease_until=None)  # its lease ran out
    jobs.run(job.pk)
    items = list(job.items.all())
    in_doubt = [i for i in items if i.state == JobItem.FAILED and i.result.get("ambiguous")]
    assert len(in_doubt) == 10  # one SendMessageBatch's worth, not the whole chunk of 50
    assert sum(i.state == JobItem.SUCCEEDED for i in items) == 40
    assert len(_bodies("payments")) == 40  # each once
    assert len(_bodies("payments-dlq")) == 10  # the ones in doubt, visible again


def test_handlers_are_registered_for_both_kinds():
    assert jobs.label_for(handlers.REDRIVE) == "Send dead letters back"
    assert jobs.label_for(handlers.DELETE) == "Delete dead letters"


def test_a_move_task_moves_a_whole_dlq_and_a_second_one_is_refused_with_the_rule(world):
    from opsconsole.recovery.dlq.errors import MoveTaskRunning
    from opsconsole.web.problems import message_for

    _fill("closure-emails-dlq", [json.dumps({"accountId": str(i)}) for i in range(20)])
    actions.start_move_task("closure-emails-dlq", actor=OLGA, ticket="INC10", rate=5)
    with pytest.raises(MoveTaskRunning) as refused:
        actions.start_move_task("closure-emails-dlq", actor=OLGA, ticket="INC10")
    assert "one active move task per queue" in message_for(refused.value)
    tasks = actions.move_tasks("closure-emails-dlq")
    assert tasks.active is not None and tasks.active.to_move == 20
    moved = actions.cancel_move_task("closure-emails-dlq", tasks.active.handle or "", actor=OLGA)
    assert moved < 20
    records = AuditEvent.objects.filter(action__startswith="dlq.move_task").values_list(
        "action", "result"
    )
    assert ("dlq.move_task.start", "succeeded") in records
    assert ("dlq.move_task.start", "refused") in records
    assert ("dlq.move_task.cancel", "succeeded") in records


def test_the_api_sends_back_all_matching_a_search_once_per_idempotency_key(world, client):
    from tests.conftest import make_user, signed_in_client

    _fill("payments-dlq", [json.dumps({"orderId": "7001"}), json.dumps({"orderId": "7002"})])
    api = signed_in_client(make_user("operator", username="api-op"))
    body = {"q": "7001", "all_matching": True, "ticket": "INC11"}
    dry = api.post(
        "/api/v1/dead-letters/redrive/", {**body, "dry_run": True}, content_type="application/json"
    )
    assert dry.status_code == 200 and dry.json()["total"] == 1
    first = api.post(
        "/api/v1/dead-letters/redrive/",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "api-1"},
    )
    assert first.status_code == 202, first.content
    again = api.post(
        "/api/v1/dead-letters/redrive/",
        body,
        content_type="application/json",
        headers={"Idempotency-Key": "api-1"},
    )
    assert (again.json()["job"], again.json()["created"]) == (first.json()["job"], False)
    assert _bodies("payments") == [json.dumps({"orderId": "7001"})]
    items = api.get(f"/api/v1/jobs/{first.json()['job']}/items/").json()
    assert [i["state"] for i in items["results"]] == ["succeeded"]
