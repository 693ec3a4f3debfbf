from opsconsole import plugins


class AuditConfig(plugins.PluginConfig):
    name = "opsconsole.audit"
    verbose_name = "Audit log"
    nav = plugins.Nav(order=50, label="Audit", url_name="audit:index", role="admin")
