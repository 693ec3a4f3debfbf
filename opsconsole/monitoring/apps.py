from opsconsole import plugins


class MonitoringConfig(plugins.PluginConfig):
    name = "opsconsole.monitoring"
    nav = plugins.Nav(order=40, label="Alerts", url_name="monitoring:alerts", role="viewer")
