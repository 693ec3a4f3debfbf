from django.apps import AppConfig


class SagasConfig(AppConfig):
    name = "sagas"
    verbose_name = "Sagas"

    def ready(self) -> None:
        from opsconsole.web.problems import register_errors

        from .errors import ERRORS

        register_errors(ERRORS)
