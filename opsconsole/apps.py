from django.apps import AppConfig


class OpsconsoleConfig(AppConfig):
    name = "opsconsole"
    verbose_name = "opsconsole platform"

    def ready(self) -> None:
        from django.conf import settings

        from opsconsole.registry import get_registry

        # Validate the configuration file at startup: a bad file stops the process with
        # file, line and field instead of failing on the first request.
        if getattr(settings, "REGISTRY_VALIDATE_AT_STARTUP", True):
            get_registry()
