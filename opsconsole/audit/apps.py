from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "opsconsole.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from opsconsole import plugins

        # The role by value: only the audit pages' own role checks may reach into identity.
        plugins.install(
            plugins.nav("audit", order=50, label="Audit", url_name="audit:index", role="admin")
        )
