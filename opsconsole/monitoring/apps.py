from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "opsconsole.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"
