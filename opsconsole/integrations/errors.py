"""The integrations' domain errors and how they read (registered from ready())."""

from __future__ import annotations

from opsconsole.errors import DomainError, NotFound
from opsconsole.web.problems import ErrorSpec


class EndpointNotFound(NotFound):
    code = "webhook.not_found"


class DeliveryNotFound(NotFound):
    code = "webhook.delivery_not_found"


class InvalidEndpoint(DomainError):
    code = "webhook.invalid"


class EndpointDisabled(DomainError):
    code = "webhook.disabled"


class IdempotencyKeyReused(DomainError):
    code = "webhook.idempotency_key_reused"


ERROR_SPECS = {
    EndpointNotFound.code: ErrorSpec(
        404, "Webhook endpoint not found", "No such webhook endpoint."
    ),
    DeliveryNotFound.code: ErrorSpec(404, "Delivery not found", "No such delivery."),
    InvalidEndpoint.code: ErrorSpec(400, "Invalid webhook endpoint", "{reason}"),
    EndpointDisabled.code: ErrorSpec(
        409, "Endpoint disabled", "Enable the endpoint before redelivering to it."
    ),
    IdempotencyKeyReused.code: ErrorSpec(
        409,
        "Idempotency-Key already used",
        "This Idempotency-Key created endpoint {endpoint}: {reason}",
    ),
}
