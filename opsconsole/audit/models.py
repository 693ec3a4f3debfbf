"""The append-only record of every action attempt and its outcome."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models

# The columns a person or a ticketing system reads, in order (CSV export and the API).
PUBLIC_FIELDS = (
    "at",
    "attempt_id",
    "actor_type",
    "actor",
    "actor_sub",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "ticket",
    "reason",
    "result",
    "error",
    "request_id",
    "correlation_id",
    "details",
)


class AppendOnlyError(Exception):
    """Audit records are never changed or removed."""


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("audit records cannot be updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records cannot be deleted")


class AuditEvent(models.Model):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    REFUSED = "refused"
    FAILED = "failed"
    RESULTS = [(r, r) for r in (STARTED, SUCCEEDED, REFUSED, FAILED)]

    # One id per attempt: the intent record and its outcome record share it.
    attempt_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_type = models.CharField(max_length=16)  # user | token | system
    actor = models.CharField(max_length=255, db_index=True)  # username / token name
    actor_sub = models.CharField(max_length=255, blank=True, default="")
    actor_role = models.CharField(max_length=16, blank=True, default="")
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=32, blank=True, default="")
    target_id = models.CharField(max_length=512, blank=True, default="", db_index=True)
    ticket = models.CharField(max_length=64, blank=True, default="", db_index=True)
    reason = models.TextField(blank=True, default="")
    request_id = models.CharField(max_length=100, blank=True, default="")
    correlation_id = models.CharField(max_length=128, blank=True, default="", db_index=True)
    result = models.CharField(max_length=16, choices=RESULTS)
    error = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.result}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.pop("_allow_insert", False):
            raise AppendOnlyError("audit records cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("audit records cannot be deleted")
