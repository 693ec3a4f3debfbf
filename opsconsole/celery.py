"""The Celery app and its beat schedule."""

from __future__ import annotations

from celery import Celery

from opsconsole.settings import default_settings_module

default_settings_module()

app = Celery("opsconsole")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender: Celery, **_: object) -> None:
    import django
    from django.apps import apps
    from django.conf import settings

    from opsconsole.schedule import beat_schedule

    # Features register their jobs in AppConfig.ready(); reading the schedule before Django
    # is set up would give beat an empty one.
    if not apps.ready and not apps.loading:
        django.setup()
    sender.conf.beat_schedule = beat_schedule(settings)
