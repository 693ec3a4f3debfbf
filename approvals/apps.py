from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        from opsconsole.web.problems import register_errors

        # Imported here: the error specs pull in the models, not ready at module import.
        from .errors import ERROR_SPECS

        register_errors(ERROR_SPECS)
