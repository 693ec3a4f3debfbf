from opsconsole import plugins
from opsconsole.schedule import PeriodicJob


class RecoveryConfig(plugins.PluginConfig):
    name = "opsconsole.recovery"
    nav = plugins.Nav(order=30, label="Recovery", url_name="recovery:index", role="viewer")
    plugs = (PeriodicJob("poll-dlq-depths", "opsconsole.recovery.tasks.poll_dlq_depths", 30.0),)
