"""Approval requests collected from the callback queues, and the decisions made on them."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone

from sagas.models import NamedByBusinessKey


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    PARTIALLY_APPROVED = "partially_approved", "1 of 2 approvals"
    # The decision is taken and stored; the AWS call is under way, or is retried because
    # AWS was unavailable (send_error says why).
    SENDING = "sending", "Decision being sent"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (ApprovalStatus.PENDING, ApprovalStatus.PARTIALLY_APPROVED)
WAITING_STATUSES = (*OPEN_STATUSES, ApprovalStatus.SENDING)
FINAL_STATUSES = (
    ApprovalStatus.APPROVED,
    ApprovalStatus.REJECTED,
    ApprovalStatus.EXPIRED,
    ApprovalStatus.CLOSED,
)


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class ApprovalRequest(NamedByBusinessKey, models.Model):  # noqa: DJ008 - __str__ inherited
    """One waiting `waitForTaskToken` step: what is asked, by whom, until when."""

    saga = models.ForeignKey(
        "sagas.Saga",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approval_requests",
    )
    execution_arn = models.CharField(max_length=512, blank=True, default="", db_index=True)
    kind = models.CharField(max_length=40)
    queue_name = models.CharField(max_length=80)
    business_key = models.CharField(max_length=200, db_index=True)
    summary = models.CharField(max_length=500)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True, default="")
    threshold = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True, default="", db_index=True)
    requested_by_type = models.CharField(max_length=32, blank=True, default="")
    requested_by = models.CharField(max_length=255, blank=True, default="")
    requested_at = models.DateTimeField()
    deadline = models.DateTimeField(null=True, blank=True)

    status = models.CharField(
        max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    # Why it expired or closed, or a note on how the decision reached AWS.
    status_reason = models.TextField(blank=True, default="")

    # Four eyes: the first of two approvals.
    first_approved_by = models.CharField(max_length=255, blank=True, default="")
    first_approved_at = models.DateTimeField(null=True, blank=True)

    # The final decision (set when the request leaves pending for sending).
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, default="")
    decided_by = models.CharField(max_length=255, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, default="")
    comment = models.TextField(blank=True, default="")
    ticket = models.CharField(max_length=64, blank=True, default="")

    # Delivery of the decision to AWS.
    send_attempts = models.PositiveIntegerField(default=0)
    send_started_at = models.DateTimeField(null=True, blank=True)
    send_error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    claimed_by = models.CharField(max_length=255, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    # The task token, Fernet-encrypted (approvals.crypto); never rendered or serialized.
    token_encrypted = models.TextField(editable=False)
    # sha256 of the token: a redelivered or duplicated message never makes a second request.
    dedup_key = models.CharField(max_length=64, unique=True, editable=False)
    message_id = models.CharField(max_length=128, blank=True, default="")

    checked_at = models.DateTimeField(null=True, blank=True)  # last sweep look at AWS
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "deadline", "id"], name="approval_status_deadline"),
            models.Index(fields=["kind", "status", "deadline"], name="approval_kind_status"),
            models.Index(fields=["claimed_by", "status"], name="approval_claimed"),
        ]

    def __repr__(self) -> str:
        # Never the token, not even encrypted.
        return f"<ApprovalRequest {self.pk} {self.kind} {self.business_key} {self.status}>"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def pending_send(self) -> bool:
        """The decision is stored but AWS has not accepted it yet (it is being retried)."""
        return self.status == ApprovalStatus.SENDING and bool(self.send_error)

    def claim_holder(self, now: datetime | None = None) -> str:
        """Who holds a live claim, or '' when nobody does."""
        now = now or timezone.now()
        if self.claimed_by and self.claimed_until and self.claimed_until > now:
            return self.claimed_by
        return ""

    def time_left_seconds(self, now: datetime | None = None) -> float | None:
        if self.deadline is None:
            return None
        return (self.deadline - (now or timezone.now())).total_seconds()


class ApprovalDecision(models.Model):
    """One accepted decision (a four-eyes request has two approvals)."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    decided_by = models.CharField(max_length=255)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.TextField(blank=True, default="")
    comment = models.TextField(blank=True, default="")
    ticket = models.CharField(max_length=64, blank=True, default="")
    # The client's Idempotency-Key (API) or the form's one-time key: a retry replays.
    idempotency_key = models.CharField(max_length=128, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["request", "decided_by", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="approval_decision_idempotency",
            )
        ]

    def __str__(self) -> str:
        return f"{self.decided_by} {self.decision} #{self.request_id}"
