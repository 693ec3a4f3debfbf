from django.apps import AppConfig

from opsconsole.web.problems import register_errors


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self) -> None:
        # Imported here: the error specs name the actions' errors, which need the models.
        from .errors import ERROR_SPECS

        register_errors(ERROR_SPECS)
