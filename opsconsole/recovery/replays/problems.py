"""How the replay codes read, and the HTTP status each answers with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opsconsole.web.problems import ErrorSpec

from . import errors as e


def _invalid(params: Mapping[str, Any]) -> str:
    problem = params.get("problem")
    words = {
        "window_missing": "Give the window's start and end.",
        "window_order": "The window's end must be after its start.",
        "future": "The window ends in the future: only events already archived can be replayed.",
        "retention": "The window starts before the archive's retention "
        f"({params.get('retention_days')} days): those events are no longer kept.",
        "unknown_rule": f"No rule {params.get('rule')} on the archive's bus.",
        "not_active": f"The replay is {params.get('state')}: nothing to cancel.",
        "ticket_too_long": f"A ticket reference is at most {params.get('limit')} characters.",
        "aws": f"AWS refused: {params.get('detail', '')}",
    }
    return words.get(str(problem), "The replay request is not valid.")


ERROR_SPECS: dict[str, ErrorSpec] = {
    e.ReplayError.code: ErrorSpec(400, "Replay refused", "This replay was refused."),
    e.ArchiveNotFound.code: ErrorSpec(404, "Archive not found", "No archive {archive}."),
    e.ReplayNotFound.code: ErrorSpec(404, "Replay not found", "No such replay."),
    e.NotAnOperator.code: ErrorSpec(
        403, "Not an operator", "Only operators and admins may replay events."
    ),
    e.InvalidReplay.code: ErrorSpec(400, "Replay refused", _invalid),
}
