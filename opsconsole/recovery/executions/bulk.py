"""Bulk redrive and restart: any saga list filter becomes a dry run, then one job.

The dry run reads only the read model (one query for the sagas, one for what recovery
already did to them), so 10,000 sagas are judged in well under two seconds without asking
AWS. The job (opsconsole.recovery.jobs) carries one item per eligible saga, with no page-size
cap; each item is the single-saga action (`actions.act`) with an idempotency key of its job
and saga, so a re-run item, a killed worker or a second submission never acts twice. An
item is done only when its saga has ended (`verify`): recovered, failed again (where), or
still running.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.http import QueryDict
from django.utils import timezone

from opsconsole.audit.log import Actor
from opsconsole.aws import budget
from opsconsole.errors import DomainError
from opsconsole.identity.roles import OPERATOR
from opsconsole.registry import get_registry
from sagas.queries import filtered, parse_filters

from . import actions, eligibility
from .errors import AlreadyInProgress, InvalidRecoveryInput, NotEligible, RefusedByAws
from .models import ActionKind, ActionState, SagaAction

BULK_ACTIONS = (ActionKind.REDRIVE, ActionKind.RESTART)
JOB_KINDS = {ActionKind.REDRIVE: "sagas.redrive", ActionKind.RESTART: "sagas.restart"}
EXAMPLES = 5
SEND_WORKERS = 8  # AWS calls of one chunk made side by side (the database part stays serial)
DEFAULT_RATE = 25.0  # items per second: well inside Step Functions' StartExecution and
# RedriveExecution rates, leaving the workload its share
FILTER_KEYS = ("q", "status", "step", "range", "since", "until", "stuck", "waiting")


@dataclass
class DryRun:
    kind: str
    action: str
    filters: dict[str, str]
    eligible: list[int] = field(default_factory=list)
    keys: dict[int, str] = field(default_factory=dict)  # saga id -> business key (eligible)
    ineligible: dict[str, list[str]] = field(default_factory=dict)  # why -> business keys
    ineligible_count: int = 0
    took_ms: float = 0.0

    @property
    def total(self) -> int:
        return len(self.eligible) + self.ineligible_count

    def reasons(self) -> list[dict[str, Any]]:
        return sorted(
            (
                {"why": why, "count": len(keys), "examples": keys[:EXAMPLES]}
                for why, keys in self.ineligible.items()
            ),
            key=lambda r: -int(r["count"]),
        )

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "filters": self.filters,
            "eligible": len(self.eligible),
            "ineligible": self.ineligible_count,
            "reasons": self.reasons(),
        }


def filter_params(params: QueryDict | dict[str, Any]) -> dict[str, str]:
    return {k: str(params.get(k)) for k in FILTER_KEYS if params.get(k)}


def dry_run(kind: str, action: str, params: QueryDict | dict[str, Any]) -> DryRun:
    """What a bulk action would do to every saga the filter selects, from the read model."""
    import time

    started = time.perf_counter()
    registry = get_registry()
    if kind not in registry.kinds:
        raise InvalidRecoveryInput(problem="filter", field="kind", detail=f"no kind {kind!r}")
    if action not in BULK_ACTIONS:
        raise InvalidRecoveryInput(problem="filter", field="action", detail="redrive or restart")
    query = QueryDict(mutable=True)
    query.update(filter_params(params))
    filters, problems = parse_filters(query)
    if problems:
        first = next(iter(problems))
        raise InvalidRecoveryInput(problem="filter", field=first, detail=str(problems[first][0]))
    sagas = filtered(kind, filters, registry=registry)
    done: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    seqs: dict[int, list[int]] = defaultdict(list)
    for saga_id, a, s, arn, seq in SagaAction.objects.filter(
        saga__in=sagas.values("pk")
    ).values_list("saga_id", "action", "state", "new_execution_arn", "seq"):
        done[saga_id].append((a, s, arn))
        seqs[saga_id].append(seq)
    result = DryRun(kind=kind, action=action, filters=filter_params(params))
    now = timezone.now()
    rows = sagas.order_by("started_at", "id").values_list(
        "pk", "business_key", "status", "sfn_status", "stopped_at", "compensation_ran"
    )
    for pk, key, status, sfn_status, stopped_at, compensated in rows.iterator(chunk_size=2000):
        facts = actions.facts_from(
            status, sfn_status, stopped_at, compensated, done.get(pk, []), seqs.get(pk)
        )
        verdict = (
            eligibility.can_redrive(facts, now)
            if action == ActionKind.REDRIVE
            else eligibility.can_restart(facts)
        )
        if verdict.allowed:
            result.eligible.append(pk)
            result.keys[pk] = key
        else:
            result.ineligible.setdefault(verdict.why, []).append(key)
            result.ineligible_count += 1
    result.took_ms = (time.perf_counter() - started) * 1000
    return result


def submit(
    kind: str,
    action: str,
    params: QueryDict | dict[str, Any],
    *,
    actor: Actor,
    ticket: str = "",
    reason: str = "",
    rate_per_second: float | None = DEFAULT_RATE,
    idempotency_key: str = "",
) -> tuple[Any, bool]:
    """Dry-run again (the world may have moved since the preview) and submit one job with an
    item per eligible saga; the same idempotency key gives back the same job."""
    from opsconsole.recovery import jobs

    if actor.role not in actions.OPERATOR_ROLES:
        from .errors import NotAnOperator

        raise NotAnOperator(role=actor.role)
    if len(ticket) > actions.MAX_TICKET:
        raise InvalidRecoveryInput(problem="ticket_too_long", field="ticket", limit=64)
    run = dry_run(kind, action, params)
    return jobs.submit(
        JOB_KINDS[ActionKind(action)],
        actor=actor,
        ticket=ticket,
        reason=reason,
        params={"action": action, "kind": kind, "filters": run.filters},
        # The key a person reads on the job page: the business key (and the saga id, unique).
        items=((f"{kind} {run.keys[pk]} #{pk}", {"saga_id": pk}) for pk in run.eligible),
        preview=run.summary(),
        idempotency_key=f"{actor.id}:{idempotency_key or timezone.now().isoformat()}",
        rate_per_second=rate_per_second,
        target=("sagas", f"{kind}: {action} of {len(run.eligible)} sagas"),
    )


def outcome_summary(job_id: int) -> dict[str, Any]:
    """Verified outcome of a bulk job's actions: recovered, failed again (by step), running."""
    rows = (
        SagaAction.objects.filter(job_id=job_id)
        .values("state", "outcome_step")
        .annotate(n=Count("id"))
    )
    summary: dict[str, Any] = {"recovered": 0, "failed_again": {}, "running": 0, "refused": 0}
    for row in rows:
        state, n = row["state"], row["n"]
        if state == ActionState.RECOVERED:
            summary["recovered"] += n
        elif state == ActionState.FAILED_AGAIN:
            step = row["outcome_step"] or "?"
            summary["failed_again"][step] = summary["failed_again"].get(step, 0) + n
        elif state == ActionState.FAILED:
            summary["refused"] += n
        else:
            summary["running"] += n
    return summary


# --- the job handler -------------------------------------------------------------------------


def _job_actor(job: Any) -> Actor:
    actor = getattr(job, "actor", "") or "system"
    role = getattr(job, "actor_role", "") or OPERATOR
    kind = getattr(job, "actor_type", "") or "user"
    return Actor(type=str(kind), id=str(actor), role=str(role))


def _request(job: Any, saga_id: int, action: str) -> actions.Request:
    return actions.Request(
        action=action,
        actor=_job_actor(job),
        ticket=str(getattr(job, "ticket", "") or ""),
        reason=str(getattr(job, "reason", "") or ""),
        idempotency_key=f"job-{job.pk}-{saga_id}",
        job_id=job.pk,
    )


def _saga_id(item: Any) -> int:
    return int((item.payload or {})["saga_id"])


Outcome = tuple[str, dict[str, Any]]


def run_items(
    job: Any, items: list[Any], action: str, workers: int = SEND_WORKERS
) -> list[Outcome]:
    """Carry out a chunk of a bulk job: claim each saga's action (database, one by one),
    make the AWS calls side by side, record each answer. One outcome per item, in order:
    ("waiting" | "skipped" | "failed", result)."""
    outcomes: list[Outcome | None] = [None] * len(items)
    to_send: list[tuple[int, actions.Claimed]] = []
    for i, item in enumerate(items):
        try:
            claimed = actions.claim(_saga_id(item), _request(job, _saga_id(item), action))
        except (NotEligible, AlreadyInProgress) as exc:
            outcomes[i] = ("skipped", {"reason": str(exc.params.get("why") or exc.code)})
            continue
        except DomainError as exc:
            outcomes[i] = ("failed", {"error": exc.code})
            continue
        record = claimed.record
        if record.state == ActionState.SENDING:
            # New, or a rerun after a crash: the same token or name, AWS acts once.
            to_send.append((i, claimed))
        else:
            outcomes[i] = _settled(record)
    if to_send:
        # The budget's pool: the calls stay charged to the job's kind of work (recovery).
        with budget.ThreadPool(max(1, min(workers, len(to_send)))) as pool:
            answers = list(pool.map(lambda c: actions.call_aws(c[1].record), to_send))
        for (i, claimed), sent in zip(to_send, answers, strict=True):
            try:
                record = actions.conclude(claimed, sent)
            except RefusedByAws as exc:
                outcomes[i] = ("failed", {"error": str(exc.params.get("detail") or exc.code)})
                continue
            outcomes[i] = _settled(record)
    return [o or ("failed", {"error": "not carried out"}) for o in outcomes]


def _settled(record: SagaAction) -> Outcome:
    if record.state == ActionState.FAILED:
        return "failed", {"error": record.error, "action_id": record.pk}
    return "waiting", {"action_id": record.pk}


def run_item(job: Any, item: Any, action: str) -> Outcome:
    """One saga of a bulk job (see `run_items`)."""
    return run_items(job, [item], action)[0]


def verify_item(item: Any) -> tuple[str, dict[str, Any]] | None:
    """The verified outcome of one item, or None while its saga still runs."""
    action_id = int((item.result or {}).get("action_id") or 0)
    record = SagaAction.objects.select_related("saga").filter(pk=action_id).first()
    if record is None:
        return "failed", {"error": "the recovery action is gone"}
    if record.state == ActionState.SENDING:
        actions.send(record)
        record.refresh_from_db()
    if record.state == ActionState.VERIFYING:
        actions.check(record)
        record.refresh_from_db()
    if record.state == ActionState.RECOVERED:
        return "succeeded", {"action_id": record.pk, "outcome": "recovered"}
    if record.state == ActionState.FAILED_AGAIN:
        where = record.outcome_step or record.outcome_status
        return "failed", {
            "action_id": record.pk,
            "outcome": "failed_again",
            "step": where,
            "error": f"failed again at {where}",
        }
    if record.state == ActionState.FAILED:
        return "failed", {"action_id": record.pk, "error": record.error}
    return None
