"""The replay rows live in the app's models module (Django finds them there)."""

from ..models import ACTIVE_REPLAY_STATES, ArchiveState, ReplayRecord

__all__ = ["ACTIVE_REPLAY_STATES", "ArchiveState", "ReplayRecord"]
