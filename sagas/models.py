"""The saga read model: one row per Step Functions execution, synced from AWS."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


class SagaStatus(models.TextChoices):
    RUNNING = "running", "Running"
    WAITING = "waiting", "Waiting for approval"
    SUCCEEDED = "succeeded", "Succeeded"
    COMPENSATED = "compensated", "Compensated"
    NEEDS_REVIEW = "needs_review", "Needs review"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    ABORTED = "aborted", "Aborted"


ACTIVE_STATUSES = (SagaStatus.RUNNING, SagaStatus.WAITING)
TERMINAL_SFN_STATUSES = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


class NamedByBusinessKey:
    """Shown as a person says it: "orders 8842 (waiting)". For the saga, and for what
    belongs to one saga of a kind and key (its approval requests)."""

    kind: str
    business_key: str
    status: str

    def __str__(self) -> str:
        return f"{self.kind} {self.business_key} ({self.status})"


class Saga(NamedByBusinessKey, models.Model):
    kind = models.CharField(max_length=40)
    execution_arn = models.CharField(max_length=512, unique=True)
    execution_name = models.CharField(max_length=80, db_index=True)
    state_machine_arn = models.CharField(max_length=512)
    business_key = models.CharField(max_length=200, db_index=True)
    correlation_id = models.CharField(max_length=128, blank=True, default="", db_index=True)
    initiator_type = models.CharField(max_length=32, blank=True, default="")
    initiator_id = models.CharField(max_length=255, blank=True, default="")
    ticket = models.CharField(max_length=64, blank=True, default="", db_index=True)
    status = models.CharField(max_length=16, choices=SagaStatus.choices)
    sfn_status = models.CharField(max_length=16)  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT...
    current_step = models.CharField(max_length=80, blank=True, default="")
    step_entered_at = models.DateTimeField(null=True, blank=True)
    # When the current step passes its SLA (registry); only set while the saga is active,
    # so "stuck" is one indexed range query.
    step_deadline = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, default="")
    last_cause = models.TextField(blank=True, default="")
    business_status = models.CharField(max_length=40, blank=True, default="")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    compensation_ran = models.BooleanField(default=False)
    callback_pending = models.BooleanField(default=False)
    redrive_count = models.PositiveIntegerField(default=0)
    # When the history tail was last read for the current step (running sagas, round robin).
    history_checked_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "-started_at", "-id"], name="saga_kind_started"),
            models.Index(fields=["kind", "status", "-started_at", "-id"], name="saga_kind_status"),
            models.Index(
                fields=["kind", "current_step", "-started_at", "-id"], name="saga_kind_step_v2"
            ),
            # Covering indexes for the status counts (tabs) under the common filters.
            models.Index(fields=["kind", "step_deadline", "status"], name="saga_kind_deadline_st"),
            models.Index(fields=["kind", "current_step", "status"], name="saga_kind_step_status"),
            models.Index(fields=["kind", "started_at", "status"], name="saga_kind_started_st"),
            models.Index(fields=["status", "history_checked_at"], name="saga_active_refresh"),
            models.Index(fields=["-started_at", "-id"], name="saga_started"),
        ]

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_terminal(self) -> bool:
        return self.sfn_status in TERMINAL_SFN_STATUSES

    @property
    def status_label(self) -> str:
        return SagaStatus(self.status).label if self.status in SagaStatus.values else self.status

    def duration(self, now: datetime | None = None) -> timedelta:
        end = self.stopped_at or now or timezone.now()
        return max(end - self.started_at, timedelta(0))

    def age(self, now: datetime | None = None) -> timedelta:
        return max((now or timezone.now()) - self.started_at, timedelta(0))

    def is_stuck(self, now: datetime | None = None) -> bool:
        """In its current step longer than the step's SLA (active sagas only)."""
        return bool(
            self.is_active
            and self.step_deadline is not None
            and self.step_deadline < (now or timezone.now())
        )

    @property
    def ref(self) -> str:
        """The reference a person (or the ticketing system) can use: `<kind>:<business key>`."""
        return f"{self.kind}:{self.business_key}"


class SagaDetail(models.Model):
    """What the case page shows beyond the read model: the execution history (complete and
    never refetched once the execution is terminal) and the last DynamoDB items read."""

    saga = models.OneToOneField(Saga, primary_key=True, on_delete=models.CASCADE)
    history = models.JSONField(default=list, blank=True)
    history_event_count = models.PositiveIntegerField(default=0)
    # True once the execution was terminal when the history was read: it cannot change.
    history_complete = models.BooleanField(default=False)
    history_truncated = models.BooleanField(default=False)
    history_fetched_at = models.DateTimeField(null=True, blank=True)
    items = models.JSONField(default=list, blank=True)
    items_fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"detail of saga {self.saga_id}"


class SyncState(models.Model):
    """How far the read model of one saga kind is synced, and whether the last sync failed."""

    kind = models.CharField(max_length=40, unique=True)
    state_machine_arn = models.CharField(max_length=512, blank=True, default="")
    # The newest execution start seen by the last complete listing: an incremental sync
    # stops at known executions older than this.
    watermark = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(default=0)
    last_new = models.PositiveIntegerField(default=0)
    last_updated = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"sync of {self.kind}"

    @property
    def is_failing(self) -> bool:
        return self.last_error_at is not None and (
            self.last_success_at is None or self.last_error_at > self.last_success_at
        )

    def is_stale(self, now: datetime | None = None) -> bool:
        if self.last_success_at is None:
            return True
        age = (now or timezone.now()) - self.last_success_at
        return age.total_seconds() > settings.SYNC_STALE_AFTER_SECONDS

    def as_banner(self, now: datetime | None = None) -> dict[str, Any] | None:
        """What a list page says about this kind's freshness; None when all is well."""
        if self.is_failing:
            return {"level": "bad", "failing": True, "error": self.last_error[:300]}
        if self.is_stale(now):
            return {"level": "warn", "failing": False, "error": ""}
        return None
