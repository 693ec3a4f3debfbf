"""WSGI entry point (gunicorn opsconsole.wsgi)."""

import sys

from django.core.wsgi import get_wsgi_application

from opsconsole.registry import RegistryError
from opsconsole.settings import default_settings_module

default_settings_module()

try:
    application = get_wsgi_application()
except RegistryError as exc:
    sys.stderr.write(f"opsconsole: configuration error: {exc}\n")
    sys.exit(2)
