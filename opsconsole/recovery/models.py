"""The last known depth of each DLQ the registry names, polled by Celery.

Recovery owns the DLQs, so it owns their depths: the recovery page reads them without
importing another feature. The rows are a cache refreshed every 30 seconds."""

from __future__ import annotations

import uuid

from django.db import models


class QueueDepth(models.Model):
    name = models.CharField(max_length=100, unique=True)  # the registry's DLQ name
    queue = models.CharField(max_length=255)
    visible = models.IntegerField(null=True)
    in_flight = models.IntegerField(null=True)
    read_at = models.DateTimeField(null=True)  # when the numbers were last read successfully
    checked_at = models.DateTimeField()  # when we last tried
    error = models.CharField(max_length=300, blank=True, default="")
    retention_seconds = models.IntegerField(null=True)  # how long the DLQ keeps a message
    sources = models.JSONField(default=list)  # URLs of the queues whose redrive names it

    def __str__(self) -> str:
        return f"{self.queue}: {self.visible}"


class Job(models.Model):
    """A long recovery action: what, who, the impact they confirmed, and where it stands.

    Written with all its items before any work starts (`jobs.submit`); Celery works it in
    chunks (`jobs.run`). The counters are denormalised from the items for the progress bar
    and kept in the same transaction as each chunk's outcomes.
    """

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    VERIFYING = "verifying"  # every item acted on; some outcomes are still being verified
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"
    STATES = [(s, s) for s in (PENDING, RUNNING, PAUSED, VERIFYING, FINISHED, CANCELLED, FAILED)]
    ACTIVE = (PENDING, RUNNING, PAUSED, VERIFYING)

    kind = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=16, choices=STATES, default=PENDING, db_index=True)
    # The audit attempt the job's records share: intent at submit, outcome at the end.
    attempt_id = models.UUIDField(default=uuid.uuid4, editable=False)
    idempotency_key = models.CharField(max_length=200, unique=True)
    actor_type = models.CharField(max_length=16)
    actor = models.CharField(max_length=255)
    actor_role = models.CharField(max_length=16, blank=True, default="")
    ticket = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    target_type = models.CharField(max_length=32, blank=True, default="")
    target_id = models.CharField(max_length=512, blank=True, default="")
    params = models.JSONField(default=dict)
    preview = models.JSONField(default=dict)
    rate_per_second = models.FloatField(null=True)
    total = models.IntegerField(default=0)
    pending = models.IntegerField(default=0)
    succeeded = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    skipped = models.IntegerField(default=0)
    waiting = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    # The runner holding the job: a second runner (a redelivered task) leaves it alone until
    # the lease runs out, which is how a killed worker's job is picked up again.
    runner = models.CharField(max_length=64, blank=True, default="")
    lease_until = models.DateTimeField(null=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.kind}, {self.state})"

    def counts(self) -> dict[str, int]:
        done = self.succeeded + self.failed + self.skipped + self.waiting + self.cancelled
        return {
            "total": self.total,
            "pending": self.pending,
            "running": max(self.total - self.pending - done, 0),
            "succeeded": self.succeeded,
            "failed": self.failed,
            "skipped": self.skipped,
            "waiting": self.waiting,
            "cancelled": self.cancelled,
        }

    @property
    def progress_percent(self) -> int:
        """Items acted on, of all items (waiting ones count: their action is done)."""
        if not self.total:
            return 100
        done = self.succeeded + self.failed + self.skipped + self.waiting + self.cancelled
        return int(100 * done / self.total)

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE


class JobItem(models.Model):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    WAITING = "waiting"  # acted on; the outcome is verified later
    CANCELLED = "cancelled"
    STATES = [(s, s) for s in (PENDING, RUNNING, SUCCEEDED, FAILED, SKIPPED, WAITING, CANCELLED)]
    FINAL = (SUCCEEDED, FAILED, SKIPPED, CANCELLED)

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="items")
    seq = models.IntegerField()
    key = models.CharField(max_length=512)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=16, choices=STATES, default=PENDING)
    # Where the handler got to inside this item, written (and committed) before a side
    # effect that must not happen twice; what `recover` reads after a crash.
    checkpoint = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    error = models.TextField(blank=True, default="")
    attempts = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "key"], name="job_item_key_unique"),
            models.UniqueConstraint(fields=["job", "seq"], name="job_item_seq_unique"),
        ]
        indexes = [models.Index(fields=["job", "state", "seq"], name="job_item_state_idx")]

    def __str__(self) -> str:
        return f"{self.key} ({self.state})"


# --- dead letters ----------------------------------------------------------------------
# A snapshot of every dead letter the console has seen. SQS cannot be searched and cannot be
# peeked; so each look at a DLQ keeps what it saw, and search, the message page and the case
# page read these rows without calling AWS. A row outlives its message: it stays, marked,
# once the message was sent back, deleted or expired.


class DeadLetter(models.Model):
    PRESENT = "present"  # in the DLQ at the last look
    GONE = "gone"  # not found at a later full look (consumed elsewhere or expired)
    REDRIVEN = "redriven"  # sent back by the console
    DELETED = "deleted"  # deleted by the console, with who and why
    STATES = [(s, s) for s in (PRESENT, GONE, REDRIVEN, DELETED)]

    dlq = models.CharField(max_length=100)  # the registry's DLQ name
    queue = models.CharField(max_length=255)
    mechanism = models.CharField(max_length=32)
    kind = models.CharField(max_length=40, blank=True, default="")
    message_id = models.CharField(max_length=128)
    body = models.TextField(blank=True, default="")
    body_size = models.PositiveIntegerField(default=0)
    body_format = models.CharField(max_length=8, default="text")  # json | text | binary
    attributes = models.JSONField(default=dict)  # SQS system attributes
    message_attributes = models.JSONField(default=dict)
    business_key = models.CharField(max_length=200, blank=True, default="")
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    causation_id = models.CharField(max_length=128, blank=True, default="")
    error_code = models.CharField(max_length=128, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    receive_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)  # the original enqueue time
    first_received_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=STATES, default=PRESENT)
    state_changed_at = models.DateTimeField(null=True, blank=True)
    state_by = models.CharField(max_length=255, blank=True, default="")
    state_reason = models.TextField(blank=True, default="")
    ticket = models.CharField(max_length=64, blank=True, default="")
    # A redrive's hold on the message: SQS deletes by receipt handle, valid while held.
    receipt_handle = models.TextField(blank=True, default="")
    held_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dlq", "message_id"], name="deadletter_dlq_message")
        ]
        indexes = [
            models.Index(fields=["business_key", "-last_seen_at"], name="deadletter_bkey"),
            models.Index(fields=["correlation_id", "-last_seen_at"], name="deadletter_corr"),
            models.Index(fields=["message_id"], name="deadletter_msgid"),
            models.Index(fields=["error_code", "-last_seen_at"], name="deadletter_error"),
            models.Index(fields=["dlq", "state", "sent_at"], name="deadletter_dlq_state"),
        ]

    def __str__(self) -> str:
        return f"{self.dlq}/{self.message_id}"
