"""The execution recovery rows live in the app's models module (Django finds them there)."""

from ..models import OPEN_STATES, ActionKind, ActionState, SagaAction

__all__ = ["OPEN_STATES", "ActionKind", "ActionState", "SagaAction"]
