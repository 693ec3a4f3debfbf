"""Why an execution recovery action refuses: stable codes and the facts behind them (how each
reads is in `opsconsole.recovery.errors`, registered from the AppConfig)."""

from __future__ import annotations

from opsconsole.errors import DomainError


class RecoveryError(DomainError):
    code = "recovery.invalid"


class SagaNotFound(RecoveryError):
    code = "recovery.saga_not_found"


class NotAnOperator(RecoveryError):
    """Only operators and admins recover sagas (`role` is what the actor holds)."""

    code = "recovery.not_an_operator"


class InvalidRecoveryInput(RecoveryError):
    """`problem` names the broken rule, `field` the input, `limit` a size."""

    code = "recovery.invalid_input"


class NotEligible(RecoveryError):
    """The action does not fit the saga now: `why` says so in words."""

    code = "recovery.not_eligible"


class AlreadyInProgress(RecoveryError):
    """Somebody else claimed the same action on the same saga first."""

    code = "recovery.already_in_progress"


class RefusedByAws(RecoveryError):
    """AWS refused the call: `aws_code` and `detail` (a sentence for a person)."""

    code = "recovery.refused_by_aws"
