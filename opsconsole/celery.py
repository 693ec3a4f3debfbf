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
    from django.conf import settings

    from opsconsole.schedule import beat_schedule

    sender.conf.beat_schedule = beat_schedule(settings)
