from django.apps import AppConfig


class RecoveryConfig(AppConfig):
    name = "opsconsole.recovery"
    label = "recovery"
    verbose_name = "Recovery"
