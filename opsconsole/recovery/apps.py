from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from opsconsole.registry import Section


class RecoveryConfig(AppConfig):
    name = "opsconsole.recovery"
    label = "recovery"
    verbose_name = "Recovery"

    def registry_sections(self) -> list[Section]:
        """The configuration file's sections this app parses (see opsconsole.registry)."""
        from .config import SECTIONS

        return SECTIONS

    def ready(self) -> None:
        from opsconsole import plugins
        from opsconsole.identity.roles import VIEWER
        from opsconsole.schedule import register_periodic

        plugins.register_nav(
            "recovery", order=30, label="Recovery", url_name="recovery:index", role=VIEWER
        )
        register_periodic("poll-dlq-depths", "opsconsole.recovery.tasks.poll_dlq_depths", 30.0)
