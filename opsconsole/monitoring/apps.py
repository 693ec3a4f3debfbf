from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from opsconsole.registry import Section


class MonitoringConfig(AppConfig):
    name = "opsconsole.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def registry_sections(self) -> list[Section]:
        """The configuration file's sections this app parses (see opsconsole.registry)."""
        from .config import SECTIONS

        return SECTIONS

    def ready(self) -> None:
        from opsconsole import plugins
        from opsconsole.identity.roles import VIEWER

        plugins.register_nav(
            "monitoring", order=40, label="Alerts", url_name="monitoring:alerts", role=VIEWER
        )
