"""Settings for the test suite: the production settings module, with test-only defaults.

Defaults are set in the environment before settings.py reads it, so settings.py stays the
only module that interprets variables. CI legs override DATABASE_URL / CELERY_BROKER_URL.
"""

import os
import tempfile

os.environ.setdefault("OPSCONSOLE_SECURE", "0")
os.environ.setdefault("OPSCONSOLE_VAR_DIR", tempfile.mkdtemp(prefix="opsconsole-test-"))
os.environ.setdefault("OPSCONSOLE_LOG_LEVEL", "WARNING")
# One test process is one host: its keys live in its own var dir.
os.environ.setdefault("OPSCONSOLE_LOCAL_KEYS", "1")
# The budget of AWS calls waits for tokens: tests about it turn it on (tests/aws/test_budget.py).
os.environ.setdefault("OPSCONSOLE_AWS_BUDGET", "0")
# Under pytest-xdist each worker inherits the controller's environment: give each its own
# var dir (SQLite test database, embedded broker, demo files), below the run's.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if XDIST_WORKER and not os.environ["OPSCONSOLE_VAR_DIR"].endswith(f"/{XDIST_WORKER}"):
    os.environ["OPSCONSOLE_VAR_DIR"] = os.path.join(os.environ["OPSCONSOLE_VAR_DIR"], XDIST_WORKER)
    os.makedirs(os.environ["OPSCONSOLE_VAR_DIR"], exist_ok=True)

from opsconsole.settings import *  # noqa: E402, F403
from opsconsole.settings import CELERY_BROKER_URL  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tasks run inline unless a test is marked celery_worker (then a real worker consumes them).
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
TEST_BROKER_IS_REAL = not CELERY_BROKER_URL.startswith("filesystem://")
if XDIST_WORKER:
    # One real broker serves every xdist worker: each worker's Celery worker (tests marked
    # celery_worker) must consume only the tasks its own tests send.
    CELERY_TASK_DEFAULT_QUEUE = f"opsconsole-test-{XDIST_WORKER}"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: concurrent writers (two syncs at once, racing
    # approvers) then wait on SQLite's busy timeout as in production instead of failing
    # with "table is locked".
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
