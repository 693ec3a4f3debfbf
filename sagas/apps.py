from django.urls import reverse

from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


class SagasConfig(plugins.FeatureConfig):
    name = "sagas"
    verbose_name = "Sagas"

    def ready(self) -> None:
        from opsconsole.web.problems import register_errors

        from .errors import ERRORS

        plugins.install(
            # Every signed-in user sees the kinds; the list pages check the role themselves.
            plugins.nav("sagas", order=10, links=_kind_links),
            PeriodicJob(
                "sync-sagas",
                "sagas.tasks.sync_all_kinds",
                lambda settings: settings.SYNC_INTERVAL_SECONDS,
            ),
        )
        register_errors(ERRORS)


def _kind_links() -> list[tuple[str, str]]:
    from opsconsole.registry import get_registry

    return [
        (kind.label, reverse("sagas:list", args=[kind.key]))
        for kind in get_registry().kinds.values()
    ]
