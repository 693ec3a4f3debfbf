from django.apps import AppConfig


class SagasConfig(AppConfig):
    name = "sagas"
    verbose_name = "Sagas"

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
