from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from opsconsole.registry import Section


class SagasConfig(AppConfig):
    name = "sagas"
    verbose_name = "Sagas"

    def registry_sections(self) -> list[Section]:
        """The configuration file's sections this app parses (see opsconsole.registry)."""
        from .config import SECTIONS

        return SECTIONS

    def ready(self) -> None:
        from django.urls import reverse

        from opsconsole import plugins
        from opsconsole.registry import get_registry
        from opsconsole.schedule import register_periodic

        def kind_links() -> list[tuple[str, str]]:
            return [
                (kind.label, reverse("sagas:list", args=[kind.key]))
                for kind in get_registry().kinds.values()
            ]

        # Every signed-in user sees the kinds; the list pages check the role themselves.
        plugins.register_nav("sagas", order=10, links=kind_links)
        register_periodic(
            "sync-sagas",
            "sagas.tasks.sync_all_kinds",
            lambda settings: settings.SYNC_INTERVAL_SECONDS,
        )
        from opsconsole.web.problems import register_errors

        from .errors import ERRORS

        register_errors(ERRORS)
