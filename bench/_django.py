"""Bootstrap shared by every benchmark: Django with the test settings in a scratch var dir."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
if "OPSCONSOLE_VAR_DIR" not in os.environ:
    os.environ["OPSCONSOLE_VAR_DIR"] = tempfile.mkdtemp(prefix="opsconsole-bench-")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

import django  # noqa: E402

django.setup()
