"""WSGI entry point (gunicorn opsconsole.wsgi)."""

import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")

from opsconsole.registry import RegistryError  # noqa: E402

try:
    application = get_wsgi_application()
except RegistryError as exc:
    sys.stderr.write(f"opsconsole: configuration error: {exc}\n")
    sys.exit(2)
