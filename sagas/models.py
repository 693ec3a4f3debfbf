"""The saga read model: one row per Step Functions execution, synced from AWS."""

from __future__ import annotations

from django.db import models


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


class Saga(models.Model):
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
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, default="")
    last_cause = models.TextField(blank=True, default="")
    business_status = models.CharField(max_length=40, blank=True, default="")
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    synced_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["kind", "-started_at", "-id"], name="saga_kind_started"),
            models.Index(fields=["kind", "status", "-started_at", "-id"], name="saga_kind_status"),
            models.Index(fields=["kind", "current_step", "-started_at"], name="saga_kind_step"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.business_key} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
