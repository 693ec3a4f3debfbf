from opsconsole import events, plugins
from opsconsole.schedule import PeriodicJob


class IntegrationsConfig(plugins.PluginConfig):
    name = "opsconsole.integrations"
    label = "integrations"
    nav = plugins.Nav(
        order=70, label="Integrations", url_name="integrations:webhooks", role="admin"
    )
    plugs = (
        PeriodicJob("integrations-sweep", "opsconsole.integrations.tasks.sweep", 15.0),
        plugins.TargetLink("webhook", "integrations:endpoint"),
    )

    def ready(self) -> None:
        super().ready()
        from opsconsole.web.problems import register_errors

        from .errors import ERROR_SPECS
        from .outbox import on_event

        register_errors(ERROR_SPECS)
        # Every event type: webhook endpoints choose theirs, channels theirs.
        events.subscribe("integrations.outbox", on_event)
