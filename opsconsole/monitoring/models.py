"""Samples, alerts, their transitions, and silences.

A series is named by a key string (`series_key`): `AWS/SQS|ApproximateNumberOfMessagesVisible|
QueueName=payments-dlq` for a polled metric, `signal|dlq_depth|dlq=payments-dlq,...` for a
console signal. Raw samples are kept `MONITORING_RAW_RETENTION_DAYS`, rollups (min, max,
sum, count per bucket) `MONITORING_ROLLUP_RETENTION_DAYS`.

An `Alert` is one rule applied to one series (its labels); its state changes are
`Transition` rows. A transition is a notification decision waiting to be taken: the notify
pass claims it once (`processed_at`), so a task delivered twice emits nothing twice.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Sample(models.Model):
    RAW = 0

    series = models.CharField(max_length=400)
    at = models.DateTimeField()
    # 0: a raw sample; otherwise the rollup bucket's length in seconds.
    resolution = models.PositiveIntegerField(default=RAW)
    value = models.FloatField()  # raw value, or the bucket's average
    minimum = models.FloatField(null=True)
    maximum = models.FloatField(null=True)
    total = models.FloatField(null=True)
    count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "resolution", "at"], name="sample_series_res_at"
            )
        ]
        indexes = [models.Index(fields=["resolution", "at"], name="sample_res_at")]

    def __str__(self) -> str:
        return f"{self.series}@{self.at:%Y-%m-%dT%H:%M:%SZ}={self.value}"


class AlertState(models.TextChoices):
    NORMAL = "normal", "Normal"
    PENDING = "pending", "Pending"
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"
    NODATA = "nodata", "No data"
    ERROR = "error", "Error"


class Alert(models.Model):
    rule = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)  # hash of the series' labels
    labels = models.JSONField(default=dict)
    severity = models.CharField(max_length=16)
    state = models.CharField(max_length=16, choices=AlertState.choices, default="normal")
    state_since = models.DateTimeField()
    pending_since = models.DateTimeField(null=True, blank=True)
    last_true_at = models.DateTimeField(null=True, blank=True)  # for keep_firing_for
    value = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    evaluated_at = models.DateTimeField()
    fired_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    link = models.CharField(max_length=500, blank=True, default="")
    acknowledged_by = models.CharField(max_length=255, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    ack_note = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "fingerprint"], name="alert_rule_fingerprint")
        ]
        indexes = [models.Index(fields=["state"], name="alert_state")]

    def __str__(self) -> str:
        return f"{self.rule} {self.labels} ({self.state})"

    @property
    def label_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()) if v)


class Transition(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=16, choices=AlertState.choices)
    to_state = models.CharField(max_length=16, choices=AlertState.choices)
    # A reminder while still firing (the repeat interval): from_state == to_state == firing.
    repeat = models.BooleanField(default=False)
    value = models.FloatField(null=True, blank=True)
    at = models.DateTimeField()
    # The window's samples that made the decision ([[iso time, value], ...]).
    samples = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")
    # Notification: claimed once by the notify pass.
    processed_at = models.DateTimeField(null=True, blank=True)
    # emitted | silenced | inhibited | quiet (a change nobody is told about)
    outcome = models.CharField(max_length=16, blank=True, default="")
    event_id = models.CharField(max_length=64, blank=True, default="")
    group_key = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], name="transition_unprocessed", condition=Q(processed_at=None)
            ),
            models.Index(fields=["alert", "-at"], name="transition_alert_at"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_id}: {self.from_state} -> {self.to_state}"


class Silence(models.Model):
    # Every matcher must equal the alert's label (`alertname` is the rule's name).
    matchers = models.JSONField(default=dict)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField()
    expired_by = models.CharField(max_length=255, blank=True, default="")
    expired_at = models.DateTimeField(null=True, blank=True)  # ended early by a person

    class Meta:
        indexes = [models.Index(fields=["ends_at"], name="silence_ends_at")]

    def __str__(self) -> str:
        return f"silence {self.pk} {self.matchers} until {self.ends_at}"
