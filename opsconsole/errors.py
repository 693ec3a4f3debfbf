"""Domain errors: what an action refuses, for a reason a person can act on.

An action raises a `DomainError` subclass that carries a stable `code` and the facts a
message is made from (`params`), never an HTTP status and never a sentence. One mapping
(`opsconsole.web.problems`) turns a code into a status, a title and a message, for pages and
for the API alike; each feature registers the codes it raises from its `AppConfig.ready()`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal with a stable code (`approval.already_decided`) and the facts behind it."""

    code: ClassVar[str] = "invalid"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.code)

    def __getattr__(self, name: str) -> Any:
        # `exc.decided_by` reads a param, so handlers need no knowledge of the params dict.
        params = self.__dict__.get("params", {})
        if name in params:
            return params[name]
        raise AttributeError(name)


class InvalidInput(DomainError):
    """Input that fails validation; `errors` maps field names to reasons."""

    code = "invalid_input"

    def __init__(self, errors: dict[str, list[str]] | None = None, **params: Any) -> None:
        super().__init__(errors=errors or {}, **params)


class NotFound(DomainError):
    code = "not_found"


class PermissionRefused(DomainError):
    """The actor's role does not allow the action (`needed` names the roles that do)."""

    code = "permission_refused"
