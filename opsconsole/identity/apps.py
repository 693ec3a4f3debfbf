from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "opsconsole.identity"
    label = "identity"
    verbose_name = "Identity"

    def ready(self) -> None:
        from . import checks  # noqa: F401 - registers the deployment checks
