from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import AppConfig

from opsconsole.web.problems import register_errors

if TYPE_CHECKING:
    from opsconsole.registry import Section


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def registry_sections(self) -> list[Section]:
        """The configuration file's sections this app parses (see opsconsole.registry)."""
        from .config import SECTIONS

        return SECTIONS

    def ready(self) -> None:
        from opsconsole import plugins
        from opsconsole.identity.roles import VIEWER
        from opsconsole.schedule import register_periodic

        plugins.register_nav(
            "approvals", order=20, label="Approvals", url_name="approvals:inbox", role=VIEWER
        )
        plugins.register_panel(
            plugins.Panel(
                name="approvals",
                title="Approvals",
                url_name="approvals:saga_panel",
                link_text="Show the approval requests of this saga",
                role=VIEWER,
                order=10,
            )
        )
        register_periodic(
            "collect-approvals",
            "approvals.tasks.collect_approval_requests",
            lambda settings: settings.APPROVALS_POLL_SECONDS,
        )
        register_periodic("sweep-approvals", "approvals.tasks.sweep_approval_requests", 30.0)
        # Imported here: the error specs name the actions' errors, which need the models.
        from .errors import ERROR_SPECS

        register_errors(ERROR_SPECS)
