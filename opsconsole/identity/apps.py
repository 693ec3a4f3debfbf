from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "opsconsole.identity"
    label = "identity"
    verbose_name = "Identity"
