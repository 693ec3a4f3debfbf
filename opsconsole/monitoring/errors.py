"""Why a monitoring action refuses (stable codes), and how each reads (registered from
MonitoringConfig.ready())."""

from __future__ import annotations

from opsconsole.errors import DomainError
from opsconsole.web.problems import ErrorSpec


class MonitoringError(DomainError):
    code = "monitoring.invalid"


class AlertNotFound(MonitoringError):
    code = "monitoring.alert_not_found"


class SilenceNotFound(MonitoringError):
    code = "monitoring.silence_not_found"


class NotAnOperator(MonitoringError):
    """Operators and admins act on alerts (`role` is what the actor holds)."""

    code = "monitoring.not_an_operator"


class NotFiring(MonitoringError):
    """Only a firing (or pending) alert can be acknowledged; `state` is where it stands."""

    code = "monitoring.not_firing"


class AlreadyAcknowledged(MonitoringError):
    code = "monitoring.already_acknowledged"


class InvalidSilence(MonitoringError):
    """`field` and `problem` say what is wrong with the silence."""

    code = "monitoring.invalid_silence"


class SilenceOver(MonitoringError):
    code = "monitoring.silence_over"


ERROR_SPECS: dict[str, ErrorSpec] = {
    MonitoringError.code: ErrorSpec(400, "Refused", "This monitoring action was refused."),
    AlertNotFound.code: ErrorSpec(404, "Alert not found", "No such alert."),
    SilenceNotFound.code: ErrorSpec(404, "Silence not found", "No such silence."),
    NotAnOperator.code: ErrorSpec(
        403, "Not an operator", "Only operators and admins act on alerts and silences."
    ),
    NotFiring.code: ErrorSpec(
        409,
        "Alert not firing",
        "The alert is {state}: only a firing or pending alert is acknowledged.",
    ),
    AlreadyAcknowledged.code: ErrorSpec(
        409, "Already acknowledged", "{acknowledged_by} acknowledged this alert already."
    ),
    InvalidSilence.code: ErrorSpec(400, "Invalid silence", "{field}: {problem}"),
    SilenceOver.code: ErrorSpec(409, "Silence already over", "This silence has already ended."),
}
