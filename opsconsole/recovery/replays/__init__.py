"""Archive replays: the registry's EventBridge archives, a window of one replayed onto its
bus (optionally to chosen rules) after an impact preview, its progress and cancel."""
