from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "opsconsole.identity"
    label = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from opsconsole import plugins

        from . import checks  # noqa: F401 - registers the deployment checks
        from .roles import ADMIN

        plugins.install(
            plugins.nav(
                "identity", order=60, label="API tokens", url_name="identity:tokens", role=ADMIN
            )
        )
