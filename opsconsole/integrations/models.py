"""Webhook endpoints, and the outbox: one row per (event, destination), written in the
transaction that emitted the event, delivered by Celery, with every attempt logged."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class WebhookEndpoint(models.Model):
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True, default="")
    # Event types it receives; empty means every type.
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True, default="")
    # The signing secret (whsec_...), Fernet-encrypted; shown to the admin once.
    secret_encrypted = models.TextField()
    # During a rotation the previous secret signs too, until it expires.
    previous_secret_encrypted = models.TextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    owner = models.CharField(max_length=255)  # who created it (told when it is disabled)
    owner_email = models.CharField(max_length=255, blank=True, default="")
    # Since when every delivery failed (None while healthy): days of it disable it.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The creating request's Idempotency-Key: the same key again answers this endpoint.
    idempotency_key = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="webhook_endpoint_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its (next) attempt
    SENDING = "sending", "Sending"  # an attempt holds the lease
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # gave up (retries exhausted, 410, endpoint disabled)


class Delivery(models.Model):
    """One event to one destination: a webhook endpoint or a named notification channel."""

    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=64)
    envelope = models.JSONField()
    endpoint = models.ForeignKey(
        WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=100, blank=True, default="")  # registry channel name
    # "webhook:<id>" or "channel:<name>": one delivery per event and destination.
    destination_key = models.CharField(max_length=120)
    # The webhook-id header: the same on every attempt, so a receiver drops a redelivery.
    message_id = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=12, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["event_id", "destination_key"], name="delivery_once_per_destination"
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint_log"),
            models.Index(fields=["channel", "-created_at"], name="delivery_channel_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} -> {self.endpoint_id or self.channel} ({self.status})"

    @property
    def destination(self) -> str:
        return self.endpoint.url if self.endpoint_id and self.endpoint else self.channel


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.IntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    outcome = models.CharField(max_length=20)  # delivered | retry | gave_up | unsubscribed

    class Meta:
        ordering = ("-at", "-id")

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.outcome} {self.status_code}"
