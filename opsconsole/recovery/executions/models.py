"""One row per recovery action on a saga: what was done, by whom, why, and how it ended.

The unique (saga, action, seq) key is the idempotency of the action itself: the n-th redrive
of an execution, the n-th restart of a saga, its stop, its resolution can each be claimed
once, whoever presses the button and however often. The AWS call that follows is made with
a client token (redrive) or execution name (restart) derived from that key, so even a crash
between the row and the call cannot do it twice."""

from __future__ import annotations

from django.db import models


class ActionKind(models.TextChoices):
    REDRIVE = "redrive", "Redrive"
    RESTART = "restart", "Restart"
    STOP = "stop", "Stop"
    RESOLVE = "resolve", "Mark resolved"


class ActionState(models.TextChoices):
    SENDING = "sending", "Sending to AWS"
    VERIFYING = "verifying", "Waiting for the saga to finish"
    RECOVERED = "recovered", "Recovered"
    FAILED_AGAIN = "failed_again", "Failed again"
    DONE = "done", "Done"
    FAILED = "failed", "Refused by AWS"


OPEN_STATES = (ActionState.SENDING, ActionState.VERIFYING)


class SagaAction(models.Model):
    saga = models.ForeignKey(
        "sagas.Saga", on_delete=models.CASCADE, related_name="recovery_actions"
    )
    action = models.CharField(max_length=10, choices=ActionKind.choices)
    seq = models.PositiveIntegerField()
    state = models.CharField(max_length=12, choices=ActionState.choices)
    execution_arn = models.CharField(max_length=512)  # the execution acted on
    # A restart's new execution (its saga row appears when the sync sees it).
    new_execution_arn = models.CharField(max_length=512, blank=True, default="", db_index=True)
    client_token = models.CharField(max_length=64, blank=True, default="")
    actor = models.CharField(max_length=255)
    actor_role = models.CharField(max_length=32, blank=True, default="")
    ticket = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=128, blank=True, default="")
    preview = models.JSONField(default=dict)  # what the person saw and confirmed
    error = models.TextField(blank=True, default="")  # AWS's refusal, in words
    # Verified outcome: the step it failed at again, or the final AWS status.
    outcome_status = models.CharField(max_length=16, blank=True, default="")
    outcome_step = models.CharField(max_length=80, blank=True, default="")
    job_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["saga", "action", "seq"], name="recovery_saga_action_once"
            ),
            models.UniqueConstraint(
                fields=["actor", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="recovery_saga_action_idem",
            ),
        ]
        indexes = [models.Index(fields=["state", "checked_at"], name="recovery_action_open")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} #{self.seq} of saga {self.saga_id} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES
