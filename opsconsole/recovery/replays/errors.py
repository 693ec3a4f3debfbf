"""Why a replay action refuses (how each reads: `replays.problems`)."""

from __future__ import annotations

from opsconsole.errors import DomainError


class ReplayError(DomainError):
    code = "replay.invalid"


class ArchiveNotFound(ReplayError):
    code = "replay.archive_not_found"


class ReplayNotFound(ReplayError):
    code = "replay.not_found"


class NotAnOperator(ReplayError):
    code = "replay.not_an_operator"


class InvalidReplay(ReplayError):
    """`problem` names the broken rule (future, retention, window_order ...), `field` the
    input."""

    code = "replay.invalid_window"
