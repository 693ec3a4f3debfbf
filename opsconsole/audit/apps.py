from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "opsconsole.audit"
    label = "audit"
    verbose_name = "Audit log"
