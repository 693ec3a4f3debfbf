"""A replay the console started: who, why, which window, and the state AWS last reported."""

from __future__ import annotations

from django.db import models

ACTIVE_REPLAY_STATES = ("STARTING", "RUNNING", "CANCELLING")


class ReplayRecord(models.Model):
    name = models.CharField(max_length=64, unique=True)  # the ReplayName given to AWS
    archive = models.CharField(max_length=100)  # the registry's archive name
    archive_arn = models.CharField(max_length=512)
    bus = models.CharField(max_length=256)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    rule_arns = models.JSONField(default=list)  # empty: every rule of the bus
    state = models.CharField(max_length=16, default="STARTING")
    state_reason = models.TextField(blank=True, default="")
    last_replayed = models.DateTimeField(null=True, blank=True)
    actor = models.CharField(max_length=255)
    ticket = models.CharField(max_length=64, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=128, blank=True, default="")
    preview = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"replay {self.name} of {self.archive} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_REPLAY_STATES

    def progress_percent(self) -> int:
        """How far through the window AWS says it is (EventLastReplayedTime)."""
        if self.state == "COMPLETED":
            return 100
        if self.last_replayed is None:
            return 0
        total = (self.window_end - self.window_start).total_seconds()
        done = (self.last_replayed - self.window_start).total_seconds()
        return max(0, min(100, int(100 * done / total))) if total > 0 else 0
