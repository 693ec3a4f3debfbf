"""The last known depth of each DLQ the registry names, polled by Celery.

Recovery owns the DLQs, so it owns their depths: the recovery page reads them without
importing another feature. The rows are a cache refreshed every 30 seconds."""

from __future__ import annotations

from django.db import models


class QueueDepth(models.Model):
    name = models.CharField(max_length=100, unique=True)  # the registry's DLQ name
    queue = models.CharField(max_length=255)
    visible = models.IntegerField(null=True)
    in_flight = models.IntegerField(null=True)
    read_at = models.DateTimeField(null=True)  # when the numbers were last read successfully
    checked_at = models.DateTimeField()  # when we last tried
    error = models.CharField(max_length=300, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.queue}: {self.visible}"


# Execution recovery and archive replays keep their rows in their own modules.
from .executions.models import SagaAction  # noqa: E402, F401
from .replays.models import ReplayRecord  # noqa: E402, F401
