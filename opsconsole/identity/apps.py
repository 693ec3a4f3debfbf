from opsconsole import plugins


class IdentityConfig(plugins.PluginConfig):
    name = "opsconsole.identity"
    nav = plugins.Nav(order=60, label="API tokens", url_name="identity:tokens", role="admin")

    def ready(self) -> None:
        super().ready()
        from . import checks  # noqa: F401 - registers the deployment checks
