"""WSGI entry point (gunicorn opsconsole.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")
application = get_wsgi_application()
