"""The Celery app and its beat schedule."""

from __future__ import annotations

import os

from celery import Celery

# Celery's own convention; settings.py reads everything else.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")

app = Celery("opsconsole")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def _schedule(sender: Celery, **_: object) -> None:
    from django.conf import settings

    from opsconsole.schedule import beat_schedule

    sender.conf.beat_schedule = beat_schedule(settings)
