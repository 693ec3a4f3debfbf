"""Seeded executions in every outcome, dead letters, and archived events.

`seed(orders=N, closures=M)` starts real executions of the two state machines; their
outcomes come from the data (see the test hooks in asl.py), not from canned history. The
well-known ids below always exist after a default seed, so tests, the e2e leg and a person
trying the demo can find them:

    order 8842  high value, waiting for approval, initiated by the service `storefront`
    order 8843  compensated: the card was declined
    order 8844  high value, waiting for approval, initiated by anna.approver@example.com
                (so "the initiator may not approve their own request" can be seen)
    order 8845  succeeded (CONFIRMED)
    order 8846  compensated: stock short (ReserveInventory failed, reservations released)
    order 8847  NEEDS_REVIEW: charged, but the courier has no slot for its postcode; the
                execution FAILED at RebookShipment (uncaught: redrive it after
                `demo_fix reopen-slot`)
    order 8848  high value, approval rejected -> compensated
    order 8849  high value, approval timed out (3 s timeout) -> compensated (States.Timeout)
    order 8850  running: a pre-order waiting for its dispatch date (AwaitDispatchDate)
    order 8851  aborted: a pre-order an operator stopped (Step Functions status ABORTED)
    order 8852  timed out as a whole: a pre-order started while a deploy had cut the state
                machine's TimeoutSeconds to 3 s (Step Functions status TIMED_OUT)
    orders 8853-8855  placed during an intake outage (the OrderPlaced rule was disabled):
                in the orders archive, no saga; an archive replay starts them
    account 77  closure waiting for approval, initiated by oscar.operator@example.com
    account 78  closure done (approved, account deleted)
    account 79  closure failed at HandleBilling: the payment provider is broken (uncaught:
                redrive it after `demo_fix clear-billing 79`)
    account 80  closure failed: the account is under legal hold (AccountClosureFailed)
    account 81  closure rejected (account active again)

The extra N-9 orders and M-5 closures are mostly quick-finishing outcomes, started through
a small thread pool without waiting per execution (benchmarks start 10,000).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from opsconsole.aws import events, provisioning, sqs, stepfunctions
from opsconsole.aws.errors import AwsError

from . import asl, world
from .world import World

log = logging.getLogger(__name__)

WELL_KNOWN: dict[str, str] = {
    "order_waiting_service": "8842",
    "order_declined": "8843",
    "order_waiting_initiator_approver": "8844",
    "order_succeeded": "8845",
    "order_stock_short": "8846",
    "order_needs_review": "8847",
    "order_rejected": "8848",
    "order_timed_out": "8849",
    "order_running": "8850",
    "order_aborted": "8851",
    "order_execution_timed_out": "8852",
    "closure_waiting": "77",
    "closure_done": "78",
    "closure_failed_billing": "79",
    "closure_failed_legal_hold": "80",
    "closure_rejected": "81",
}
DEFAULT_ORDERS = 60
DEFAULT_CLOSURES = 12
TIMED_OUT_APPROVAL_SECONDS = 3
APPROVER = "ben.approver@example.com"
STOREFRONT = {"type": "service", "id": "storefront"}
_NAMESPACE = uuid.UUID("6f1c3a52-8842-4c77-9a0e-0d5e00c0ffee")

# Generated orders: outcome -> weight. Mostly quick finishers; a few wait for people.
ORDER_MIX: tuple[tuple[str, int], ...] = (
    ("succeeded", 70),
    ("declined", 6),
    ("stock_short", 6),
    ("needs_review", 4),
    ("waiting", 6),
    ("running", 3),
    ("timed_out", 5),
)
CLOSURE_MIX: tuple[tuple[str, int], ...] = (
    ("done", 60),
    ("waiting", 25),
    ("failed_billing", 10),
    ("failed_legal_hold", 5),
)


@dataclass(frozen=True)
class Planned:
    kind: str  # "orders" | "closures"
    key: str
    outcome: str
    payload: dict[str, Any]
    answer: str | None = None  # "approve" | "reject": the seeder answers the approval


@dataclass(frozen=True)
class SeedReport:
    orders: int
    closures: int
    seconds: float
    outcomes: dict[str, int] = field(default_factory=dict)
    failed_starts: int = 0


def correlation_id_for(kind: str, key: str) -> str:
    """The seeded saga's correlation id (deterministic, so a test can search for it)."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def execution_name(kind: str, key: str, epoch: int | None = None) -> str:
    at = epoch if epoch is not None else int(time.time())
    if kind == "orders":
        return asl.intake_execution_name(key, at)  # the name the OrderPlaced intake derives
    return f"closure-{key}-{at}"


def _now() -> str:
    return datetime.now(tz=UTC).isoformat()


def envelope(
    command: str,
    correlation_id: str,
    initiator: dict[str, str],
    data: dict[str, Any],
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An execution input in the envelope of DOMAIN.md."""
    payload: dict[str, Any] = {
        "meta": {
            "messageType": "command",
            "commandName": command,
            "schemaVersion": "1",
            "commandId": str(uuid.uuid4()),
            "correlationId": correlation_id,
            "causationId": str(uuid.uuid4()),
            "occurredAt": _now(),
            "tenantId": "demo",
            "initiator": initiator,
        },
        "data": data,
    }
    if options:
        payload["options"] = options
    return payload


def user(email: str) -> dict[str, str]:
    return {"type": "user", "id": email}


# --- orders ------------------------------------------------------------------------------

_LOW_VALUE_BASKETS = (
    [("MUG-01", 2)],
    [("KB-ERGO", 1)],
    [("MUG-01", 1), ("KB-ERGO", 1)],
    [("CHAIR-9", 1)],
    [("KB-ERGO", 2), ("MUG-01", 4)],
)
_HIGH_VALUE_BASKETS = (
    [("DESK-OAK", 1), ("KB-ERGO", 1)],
    [("DESK-OAK", 1)],
    [("CHAIR-9", 2), ("MUG-01", 2)],
)


def order_payload(
    order_id: str,
    basket: Iterable[tuple[str, int]],
    *,
    initiator: dict[str, str] | None = None,
    card_token: str = "tok_visa",  # noqa: S107 - a test card
    postcode: str = "EC1A 1BB",
    dispatch_at: str | None = None,
    ticket: str | None = None,
    approval_timeout: int | None = None,
    n: int = 0,
) -> dict[str, Any]:
    """The input of one OrderFulfillment execution."""
    items: list[dict[str, Any]] = [
        {"sku": sku, "qty": qty, "price": world.INVENTORY[sku][1]} for sku, qty in basket
    ]
    amount = round(sum(i["qty"] * i["price"] for i in items), 2)
    data: dict[str, Any] = {
        "orderId": order_id,
        "customer": {
            "id": f"C{10000 + n}",
            "email": f"customer{n}@example.net",
            "phone": f"+44 7700 900{n % 1000:03d}",
        },
        "items": items,
        "amount": amount,
        "currency": "EUR",
        "payment": {
            "token": card_token,
            "card": "visa-" + ("0002" if "Declined" in card_token else "4242"),
        },
        "shipping": {"address": f"{n % 200 + 1} Demo Street, London", "postcode": postcode},
    }
    if dispatch_at:
        data["shipping"]["dispatchAt"] = dispatch_at
    if ticket:
        data["ticket"] = ticket
    options = {"approvalTimeoutSeconds": approval_timeout} if approval_timeout else None
    return envelope(
        "FulfilOrder",
        correlation_id_for("orders", order_id),
        initiator or STOREFRONT,
        data,
        options,
    )


def _order(order_id: str, outcome: str, n: int, initiator: dict[str, str] | None = None):
    rnd = random.Random(n)
    low = rnd.choice(_LOW_VALUE_BASKETS)
    high = rnd.choice(_HIGH_VALUE_BASKETS)
    ticket = f"INC{1000000 + n}" if n % 5 == 0 else None
    answer = None
    kwargs: dict[str, Any] = {"initiator": initiator, "ticket": ticket, "n": n}
    if outcome == "succeeded":
        basket = low
    elif outcome == "declined":
        basket, kwargs["card_token"] = low, asl.DECLINING_CARD_TOKEN
    elif outcome == "stock_short":
        basket = [("MUG-01", 1), (world.LOW_STOCK_SKU, 50)]
    elif outcome == "needs_review":
        basket, kwargs["postcode"] = low, asl.NO_SLOT_POSTCODE
    elif outcome == "waiting":
        basket = high
    elif outcome == "running":
        basket = low
        kwargs["dispatch_at"] = (
            (datetime.now(tz=UTC) + timedelta(hours=6)).replace(microsecond=0).isoformat()
        ).replace("+00:00", "Z")
    elif outcome == "timed_out":
        basket, kwargs["approval_timeout"] = high, TIMED_OUT_APPROVAL_SECONDS
    elif outcome == "rejected":
        basket, answer = high, "reject"
    else:  # pragma: no cover - a programming error
        raise ValueError(outcome)
    return Planned("orders", order_id, outcome, order_payload(order_id, basket, **kwargs), answer)


def _well_known_orders() -> list[Planned]:
    w = WELL_KNOWN
    return [
        _order(w["order_waiting_service"], "waiting", 8842),
        _order(w["order_declined"], "declined", 8843),
        _order(
            w["order_waiting_initiator_approver"],
            "waiting",
            8844,
            user("anna.approver@example.com"),
        ),
        _order(w["order_succeeded"], "succeeded", 8845),
        _order(w["order_stock_short"], "stock_short", 8846),
        _order(w["order_needs_review"], "needs_review", 8847),
        _order(w["order_rejected"], "rejected", 8848, user("oscar.operator@example.com")),
        _order(w["order_timed_out"], "timed_out", 8849),
        _order(w["order_running"], "running", 8850),
        dataclasses.replace(_order(w["order_aborted"], "running", 8851), outcome="aborted"),
        dataclasses.replace(
            _order(w["order_execution_timed_out"], "running", 8852), outcome="execution_timeout"
        ),
    ]


# --- closures ----------------------------------------------------------------------------


def account_items(account_id: str, *, broken_billing: bool = False, legal_hold: bool = False):
    """The business items of one account (profile, billing, resources) before its closure."""
    n = int(account_id) if account_id.isdigit() else 0
    profile: dict[str, Any] = {
        "pk": f"ACCOUNT#{account_id}",
        "sk": "PROFILE",
        "accountId": account_id,
        "status": "active",
        "email": f"holder{account_id}@example.org",
        "name": f"Account Holder {account_id}",
        "phone": f"+44 7700 901{n % 1000:03d}",
        "plan": "team" if n % 3 else "business",
    }
    if legal_hold:
        profile["legal_hold"] = "litigation hold LH-2291"
    billing: dict[str, Any] = {
        "pk": f"ACCOUNT#{account_id}",
        "sk": "BILLING",
        "status": "active",
        "provider": "demo-pay",
        "unused_days": n % 28,
    }
    if broken_billing:
        billing["provider_error"] = "payment provider returned 503 for subscription cancel"
    resources = {
        "pk": f"ACCOUNT#{account_id}",
        "sk": "RESOURCES",
        "projects": n % 7 + 1,
        "storage_gb": n % 50,
    }
    return [profile, billing, resources]


def _closure(account_id: str, outcome: str, initiator: dict[str, str] | None = None) -> Planned:
    n = int(account_id)
    data: dict[str, Any] = {
        "accountId": account_id,
        "email": f"holder{account_id}@example.org",
        "reason": ("customer request", "duplicate account", "company dissolved")[n % 3],
    }
    if n % 2:
        data["ticket"] = f"RITM{20000 + n}"
    answer = {"waiting": None, "rejected": "reject"}.get(outcome, "approve")
    initiator = initiator or user(
        ("oscar.operator@example.com", "vera.viewer@example.com")[n % 2]
        if n % 4
        else "ada.admin@example.com"
    )
    payload = envelope("CloseAccount", correlation_id_for("closures", account_id), initiator, data)
    return Planned("closures", account_id, outcome, payload, answer)


def _well_known_closures() -> list[Planned]:
    w = WELL_KNOWN
    oscar = user("oscar.operator@example.com")
    return [
        _closure(w["closure_waiting"], "waiting", oscar),
        _closure(w["closure_done"], "done", oscar),
        _closure(w["closure_failed_billing"], "failed_billing", oscar),
        _closure(w["closure_failed_legal_hold"], "failed_legal_hold", oscar),
        _closure(w["closure_rejected"], "rejected", oscar),
    ]


def _pick(mix: tuple[tuple[str, int], ...], rnd: random.Random) -> str:
    return rnd.choices([o for o, _ in mix], weights=[w for _, w in mix])[0]


def plan(
    orders: int,
    closures: int,
    *,
    well_known: bool = True,
    first_order: int = 9000,
    first_account: int = 1000,
    rng_seed: int = 8842,
) -> list[Planned]:
    """What to start: the well-known sagas, then generated ones up to the requested counts."""
    rnd = random.Random(rng_seed)
    planned: list[Planned] = []
    fixed_orders = _well_known_orders() if well_known else []
    fixed_closures = _well_known_closures() if well_known else []
    planned.extend(fixed_orders[:orders])
    planned.extend(fixed_closures[:closures])
    for i in range(max(0, orders - len(fixed_orders))):
        n = first_order + i
        initiator = user("oscar.operator@example.com") if n % 17 == 0 else None
        planned.append(_order(str(n), _pick(ORDER_MIX, rnd), n, initiator))
    for i in range(max(0, closures - len(fixed_closures))):
        n = first_account + i
        planned.append(_closure(str(n), _pick(CLOSURE_MIX, rnd)))
    return planned


# --- running the plan --------------------------------------------------------------------


def _start_all(
    w: World, batch: list[Planned], epoch: int, workers: int = 8
) -> tuple[dict[str, str], int]:
    """Start executions concurrently; return {kind:key: arn} and how many failed to start."""
    arns: dict[str, str] = {}
    failed = 0

    def start(p: Planned) -> tuple[Planned, str | None]:
        sm = w.order_state_machine_arn if p.kind == "orders" else w.closure_state_machine_arn
        try:
            return p, stepfunctions.start_execution(
                sm, execution_name(p.kind, p.key, epoch), p.payload
            )
        except AwsError as exc:
            log.warning("could not start %s %s: %s", p.kind, p.key, exc)
            return p, None

    if len(batch) <= 4:
        results = [start(p) for p in batch]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(start, batch))
    for p, arn in results:
        if arn is None:
            failed += 1
        else:
            arns[f"{p.kind}:{p.key}"] = arn
    return arns, failed


def answer_approvals(
    w: World,
    wanted: dict[str, dict[str, str]],
    *,
    timeout: float = 20.0,
    approver: str = APPROVER,
) -> set[str]:
    """Answer the approval requests of `wanted` ({queue: {business key: approve|reject}}).

    Messages for other sagas are left where they are (made visible again at the end), so
    the console's approvals inbox still collects them. Returns the keys answered.
    """
    answered: set[str] = set()
    kept: list[tuple[str, str]] = []
    deadline = time.monotonic() + timeout
    remaining = {q: dict(keys) for q, keys in wanted.items() if keys}
    try:
        while remaining and time.monotonic() < deadline:
            progressed = False
            for queue, keys in list(remaining.items()):
                url = w.queue_urls[queue]
                for message in sqs.receive_messages(url, max_messages=10, visibility_timeout=60):
                    progressed = True
                    try:
                        body = json.loads(message.body)
                    except ValueError:
                        kept.append((url, message.receipt_handle))
                        continue
                    key = str(body.get("orderId") or body.get("accountId") or "")
                    decision = keys.pop(key, None)
                    if decision is None:
                        kept.append((url, message.receipt_handle))
                        continue
                    _answer(body, decision, approver)
                    sqs.delete_message(url, message.receipt_handle)
                    answered.add(key)
                if not keys:
                    remaining.pop(queue)
            if not progressed:
                time.sleep(0.1)
    finally:
        for url, handle in kept:
            # Best effort: a message not released reappears by itself after 60 s.
            with contextlib.suppress(AwsError):
                sqs.release_message(url, handle)
    if remaining:
        log.warning("approval requests never arrived for %s", remaining)
    return answered


def _answer(body: dict[str, Any], decision: str, approver: str) -> None:
    token = str(body["taskToken"])
    try:
        if decision == "approve":
            stepfunctions.send_task_success(
                token,
                {
                    "approved": True,
                    "approver": approver,
                    "comment": "Checked against the customer's history (seeded).",
                    "ticket": body.get("ticket"),
                },
            )
        else:
            stepfunctions.send_task_failure(
                token, "Rejected", f"Rejected by {approver}: could not verify the request."
            )
    except AwsError as exc:
        log.warning("could not answer an approval: %s", exc)


def seed(
    orders: int = DEFAULT_ORDERS,
    closures: int = DEFAULT_CLOSURES,
    *,
    built: World | None = None,
    well_known: bool = True,
    first_order: int = 9000,
    first_account: int = 1000,
    dead_letters: bool = True,
    progress: Callable[[str], None] | None = None,
) -> SeedReport:
    """Start executions in every outcome, fill the DLQs and put events on the bus."""
    began = time.monotonic()
    say = progress or (lambda _msg: None)
    w = built or world.build()
    planned = plan(
        orders,
        closures,
        well_known=well_known,
        first_order=first_order,
        first_account=first_account,
    )
    _create_accounts([p for p in planned if p.kind == "closures"])
    epoch = int(time.time())

    # Sagas the seeder answers start first, so their requests are found among few others.
    to_answer = [p for p in planned if p.answer]
    rest = [p for p in planned if not p.answer]
    failed = 0
    if to_answer:
        say(f"starting {len(to_answer)} sagas whose approvals the seeder answers")
        _arns, failed = _start_all(w, to_answer, epoch)
        wanted: dict[str, dict[str, str]] = {"order-approvals": {}, "closure-approvals": {}}
        for p in to_answer:
            queue = "order-approvals" if p.kind == "orders" else "closure-approvals"
            wanted[queue][p.key] = p.answer or "approve"
        answer_approvals(w, wanted)
    # Started alone, under a definition whose execution timeout is seconds long: nothing
    # else may start while that definition is in place.
    short_lived = [p for p in planned if p.outcome == "execution_timeout"]
    rest = [p for p in rest if p.outcome != "execution_timeout"]
    failed += _start_with_execution_timeout(w, short_lived, epoch)
    say(f"starting {len(rest)} more executions")
    arns, more_failed = _start_all(w, rest, epoch)
    failed += more_failed
    _abort(
        [arns[ref] for p in rest if p.outcome == "aborted" and (ref := f"{p.kind}:{p.key}") in arns]
    )

    if dead_letters:
        say("filling dead-letter queues and the orders-bus archive")
        fill_dead_letters(w)
        publish_order_events([p for p in planned if p.kind == "orders"][:200], epoch)
        if well_known:
            publish_during_intake_outage(w, epoch)

    outcomes: dict[str, int] = {}
    for p in planned:
        outcomes[f"{p.kind}:{p.outcome}"] = outcomes.get(f"{p.kind}:{p.outcome}", 0) + 1
    return SeedReport(
        orders=sum(1 for p in planned if p.kind == "orders"),
        closures=sum(1 for p in planned if p.kind == "closures"),
        seconds=round(time.monotonic() - began, 2),
        outcomes=outcomes,
        failed_starts=failed,
    )


EXECUTION_TIMEOUT_SECONDS = 3


def _start_with_execution_timeout(w: World, planned: list[Planned], epoch: int) -> int:
    """Start `planned` under the order state machine with a top-level TimeoutSeconds of a few
    seconds, then put the definition back: Step Functions runs an execution on the
    definition it started with, so these end TIMED_OUT and nothing else is touched."""
    if not planned:
        return 0
    arn = w.order_state_machine_arn
    original = stepfunctions.state_machine_definition(arn)
    stepfunctions.update_definition(arn, {**original, "TimeoutSeconds": EXECUTION_TIMEOUT_SECONDS})
    try:
        _arns, failed = _start_all(w, planned, epoch, workers=1)
    finally:
        stepfunctions.update_definition(arn, original)
    return failed


def _abort(arns: list[str], timeout: float = 20.0) -> None:
    """Stop what an operator stopped by hand, so the world holds ABORTED executions: a
    pre-order, once it waits for its dispatch date. (moto loses a stop that arrives before
    the execution's worker started, or while a Parallel state's branches run.)"""
    deadline = time.monotonic() + timeout
    for arn in arns:
        while time.monotonic() < deadline:
            with contextlib.suppress(AwsError):
                history = stepfunctions.get_execution_history(arn)
                if history and history[-1].type == "WaitStateEntered":
                    break
            time.sleep(0.1)
        with contextlib.suppress(AwsError):
            stepfunctions.stop_execution(
                arn, "OperatorStopped", "The customer cancelled the pre-order by phone."
            )


def _create_accounts(closures: list[Planned]) -> None:
    items: list[dict[str, Any]] = []
    for p in closures:
        items.extend(
            account_items(
                p.key,
                broken_billing=p.outcome == "failed_billing",
                legal_hold=p.outcome == "failed_legal_hold",
            )
        )
    provisioning.batch_put_items(world.ACCOUNTS_TABLE, items)


# --- dead letters and events -------------------------------------------------------------


def _attrs(correlation_id: str, **more: str) -> tuple[tuple[str, str], ...]:
    return (("correlationId", correlation_id), *more.items())


def _eventbridge_event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": asl.EVENT_SOURCE,
        "account": "123456789012",
        "time": datetime.now(tz=UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


def fill_dead_letters(w: World) -> None:
    """Put messages in every DLQ: originals for SQS redrive DLQs, EventBridge's error
    attributes on the rule DLQ, one message that is not JSON and one of about 200 KB, and
    Lambda's async DLQ and on-failure destination (fill_lambda_dead_letters)."""
    out = provisioning.OutgoingMessage

    def payment(order_id: str, amount: float) -> provisioning.OutgoingMessage:
        corr = correlation_id_for("orders", order_id)
        body = {
            "orderId": order_id,
            "amount": amount,
            "currency": "EUR",
            "operation": "capture",
            "correlationId": corr,
        }
        return out(json.dumps(body), _attrs(corr, source="payments-worker"))

    provisioning.send_messages(
        w.queue_urls["payments-dlq"],
        [
            payment("8843", 37.5),
            payment("9013", 149.0),
            payment("9027", 174.0),
            # A producer that wrote a legacy fixed-width line: the console must show it as is.
            out(
                "CAPTURE|9031|EUR|000012900|tok_visa|retry=3",
                _attrs(correlation_id_for("orders", "9031")),
            ),
        ],
    )

    big_corr = correlation_id_for("orders", "8847")
    manifest = {
        "orderId": "8847",
        "postcode": asl.NO_SLOT_POSTCODE,
        "correlationId": big_corr,
        # A label bundle the courier API rejected; ~200 KB like a real PDF-in-JSON payload.
        "labels": [{"parcel": i, "pdfBase64": "JVBERi0xLjcK" + "QUJD" * 1250} for i in range(40)],
    }
    provisioning.send_messages(
        w.queue_urls["shipments-dlq"],
        [
            out(json.dumps(manifest), _attrs(big_corr, source="courier-booking")),
            out(
                json.dumps(
                    {
                        "orderId": "8847",
                        "postcode": asl.NO_SLOT_POSTCODE,
                        "correlationId": big_corr,
                        "error": "no courier slot",
                    }
                ),
                _attrs(big_corr, source="courier-booking"),
            ),
        ],
    )

    def email(account_id: str) -> provisioning.OutgoingMessage:
        corr = correlation_id_for("closures", account_id)
        body = {
            "template": "account-closed",
            "to": f"holder{account_id}@example.org",
            "accountId": account_id,
            "correlationId": corr,
        }
        return out(json.dumps(body), _attrs(corr, source="mailer"))

    provisioning.send_messages(w.queue_urls["closure-emails-dlq"], [email("78"), email("1004")])

    target_arn = w.queue_arns[world.RULE_TARGET_QUEUE]

    def undeliverable(order_id: str, detail_type: str, code: str, message: str):
        corr = correlation_id_for("orders", order_id)
        event = _eventbridge_event(
            detail_type,
            {
                "meta": {"eventName": detail_type, "correlationId": corr},
                "data": {"orderId": order_id},
            },
        )
        return out(
            json.dumps(event),
            _attrs(
                corr,
                ERROR_CODE=code,
                ERROR_MESSAGE=message,
                RULE_ARN=w.rule_arn,
                TARGET_ARN=target_arn,
            ),
        )

    provisioning.send_messages(
        w.queue_urls[world.RULE_DLQ],
        [
            undeliverable(
                "8845",
                "OrderConfirmed",
                "SQS.AmazonSQSException",
                "Access to the resource is denied (KMS key policy).",
            ),
            undeliverable(
                "9002",
                "OrderPlaced",
                "SDK_CLIENT_ERROR",
                "Unable to execute HTTP request: connect timed out",
            ),
            undeliverable(
                "9005",
                "OrderFailed",
                "NO_PERMISSIONS",
                "EventBridge is not authorized to send messages to the queue.",
            ),
        ],
    )
    fill_lambda_dead_letters(w)


def fill_lambda_dead_letters(w: World) -> None:
    """Lambda's two mechanisms: an async DLQ (the event, with RequestID/ErrorCode/ErrorMessage
    attributes) and an on-failure destination (the invocation record with request and
    response context); plus, in payments-dlq, a command in the envelope and a body with
    markup in it (the console must show both escaped)."""
    out = provisioning.OutgoingMessage
    region, account = "eu-west-1", "123456789012"

    def notify(order_id: str, code: str, message: str) -> provisioning.OutgoingMessage:
        corr = correlation_id_for("orders", order_id)
        event = _eventbridge_event(
            "OrderConfirmed",
            {
                "meta": {"eventName": "OrderConfirmed", "correlationId": corr},
                "data": {"orderId": order_id, "customerEmail": f"customer{order_id}@example.net"},
            },
        )
        return out(
            json.dumps(event),
            (("RequestID", str(uuid.uuid4())), ("ErrorCode", code), ("ErrorMessage", message)),
        )

    provisioning.send_messages(
        w.queue_urls[world.LAMBDA_ASYNC_DLQ],
        [
            notify("8845", "200", "Task timed out after 30.03 seconds"),
            notify("9011", "200", "Unhandled: SMTP relay refused the connection"),
        ],
    )

    def failure_record(order_id: str, points: int) -> provisioning.OutgoingMessage:
        corr = correlation_id_for("orders", order_id)
        function = world.LAMBDA_FUNCTIONS[world.LAMBDA_FAILURE_DESTINATION]
        record = {
            "version": "1.0",
            "timestamp": datetime.now(tz=UTC).isoformat().replace("+00:00", "Z"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{region}:{account}:function:{function}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": envelope(
                "BurnLoyaltyPoints",
                corr,
                STOREFRONT,
                {"orderId": order_id, "points": points, "customerEmail": "loyal@example.net"},
            ),
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorMessage": "loyalty ledger is read-only during the migration",
                "errorType": "LedgerReadOnly",
                "stackTrace": ['  File "/var/task/app.py", line 41, in handler'],
            },
        }
        return out(json.dumps(record), ())

    provisioning.send_messages(
        w.queue_urls[world.LAMBDA_FAILURE_DESTINATION],
        [failure_record("8845", 120), failure_record("9016", 45)],
    )

    corr = correlation_id_for("orders", "9040")
    provisioning.send_messages(
        w.queue_urls["payments-dlq"],
        [
            out(
                json.dumps(
                    envelope(
                        "CapturePayment",
                        corr,
                        STOREFRONT,
                        {"orderId": "9040", "amount": 64.0, "currency": "EUR"},
                    )
                ),
                _attrs(corr, source="payments-worker"),
            ),
            out(
                json.dumps(
                    {
                        "orderId": "9041",
                        "note": '<script>alert("dlq")</script><img src=x onerror=alert(1)>',
                        "html": "<b>bold</b> & <i>friends</i>",
                    }
                ),
                _attrs(correlation_id_for("orders", "9041"), source="payments-worker"),
            ),
        ],
    )


def publish_order_events(planned: list[Planned], placed_at: int | None = None) -> int:
    """Put OrderPlaced events (the intake's) on orders-bus, so the archive has content.

    Each carries the order and `placedAt` (epoch seconds): the orders-bus rule's intake
    workflow starts the saga as `order-<orderId>-<placedAt>`, the name the seeder and the
    traffic started it under, so these events (and their replays) start no second saga."""
    placed = placed_at if placed_at is not None else int(time.time())
    details = [
        {
            "meta": {
                "messageType": "event",
                "eventName": "OrderPlaced",
                "schemaVersion": "1",
                "eventId": str(uuid.uuid4()),
                "correlationId": p.payload["meta"]["correlationId"],
                "causationId": p.payload["meta"]["commandId"],
                "occurredAt": _now(),
                "tenantId": "demo",
                "initiator": p.payload["meta"]["initiator"],
            },
            "data": {**p.payload["data"], "placedAt": placed},
        }
        for p in planned
    ]
    if not details:
        return 0
    return events.put_events(world.ORDERS_BUS, asl.EVENT_SOURCE, "OrderPlaced", details)


INTAKE_OUTAGE_ORDERS = ("8853", "8854", "8855")


def publish_during_intake_outage(
    w: World, placed_at: int | None = None, order_ids: Iterable[str] = INTAKE_OUTAGE_ORDERS
) -> list[str]:
    """The intake outage: a deploy left the OrderPlaced rule disabled while a few orders came
    in. Their events are on the bus and in the orders archive, but no saga started; an
    archive replay over that window starts them (and only them). Returns the order ids."""
    ids = list(order_ids)
    if not w.intake_state_machine_arn:
        return []
    dlq_arn = w.queue_arns[world.RULE_DLQ]
    world.ensure_order_placed_rule(w.intake_state_machine_arn, dlq_arn, enabled=False)
    try:
        publish_order_events([_order(i, "succeeded", int(i)) for i in ids], placed_at)
    finally:
        world.ensure_order_placed_rule(w.intake_state_machine_arn, dlq_arn, enabled=True)
    return ids
