"""Django settings for opsconsole.

This is the only module that reads the environment. Every variable is listed, with its
default, in `.env.example`; a bad value fails at startup with the variable's name.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


_Number = TypeVar("_Number", int, float)


def _env_number(
    name: str, default: _Number, minimum: _Number | None, parse: type[_Number], what: str
) -> _Number:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = parse(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, got {number}")
    return number


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    return _env_number(name, default, minimum, int, "an integer")


def env_float(name: str, default: float, minimum: float | None = None) -> float:
    return _env_number(name, default, minimum, float, "a number")


def default_settings_module() -> None:
    """Name this module as Django's settings unless the environment names another one.

    The entry points (wsgi.py, celery.py) call this so that the environment is read here only.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", __name__)


def child_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process (demo supervisor, test servers), with overrides.
    A child keeps this process's key decision: the same host, the same VAR_DIR keys."""
    inherited = {"OPSCONSOLE_LOCAL_KEYS": "1"} if LOCAL_KEYS else {}
    return {**os.environ, **inherited, **overrides}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


# --- core ------------------------------------------------------------------------------

DEBUG = env_bool("OPSCONSOLE_DEBUG", False)
# Where the embedded world keeps its state (SQLite database, broker folders, demo files).
VAR_DIR = Path(env_str("OPSCONSOLE_VAR_DIR", str(BASE_DIR / "var")))


# Keys made once into VAR_DIR for a single-host checkout (debugging, or the embedded demo,
# whose supervisor turns this on). Never on many hosts: each would make its own keys, and a
# token one host encrypted could not be decrypted on another.
_EMBEDDED_COMMANDS = {"demo", "seed_world"}
_RUNS_EMBEDDED_WORLD = (
    len(sys.argv) > 1
    and Path(sys.argv[0]).name == "manage.py"
    and sys.argv[1] in _EMBEDDED_COMMANDS
)
LOCAL_KEYS = env_bool("OPSCONSOLE_LOCAL_KEYS", DEBUG or _RUNS_EMBEDDED_WORLD)


def _local_key(name: str) -> str:
    """A random key kept in VAR_DIR, so a checkout runs without a shared insecure default."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _required_key(variable: str, local_name: str) -> str:
    value = env_str(variable, "")
    if value:
        return value
    if LOCAL_KEYS:
        return _local_key(local_name)
    raise ImproperlyConfigured(
        f"{variable} is required: every web and worker host must share it. Set it (or, on a "
        "single-host checkout, OPSCONSOLE_LOCAL_KEYS=1 to keep generated keys in "
        "OPSCONSOLE_VAR_DIR)."
    )


SECRET_KEY = _required_key("OPSCONSOLE_SECRET_KEY", "secret_key")
# Encrypt task tokens at rest; separate from SECRET_KEY so either can rotate alone. Several
# keys, comma-separated: the first encrypts, every one decrypts (rotation: put the new key
# first, keep the old ones until the tokens they encrypted are decided or expired).
FIELD_ENCRYPTION_KEYS = [
    key.strip()
    for key in _required_key("OPSCONSOLE_FIELD_ENCRYPTION_KEYS", "field_encryption_key").split(",")
    if key.strip()
]

ALLOWED_HOSTS = env_list("OPSCONSOLE_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("OPSCONSOLE_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "mozilla_django_oidc",
    "opsconsole",
    "opsconsole.identity",
    "opsconsole.audit",
    "opsconsole.recovery",
    "opsconsole.monitoring",
    "opsconsole.integrations",
    "sagas",
    "approvals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "opsconsole.middleware.RequestIdMiddleware",
    "opsconsole.middleware.InteractiveAwsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Pages in the zone each person chose (UTC unless they did).
    "sagas.timezones.TimeZoneMiddleware",
    "opsconsole.identity.middleware.SessionPolicyMiddleware",
    "opsconsole.identity.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "opsconsole.urls"
WSGI_APPLICATION = "opsconsole.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "opsconsole.context_processors.console",
                "sagas.context_processors.search",
                "sagas.timezones.context",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'opsconsole.sqlite3'}"),
        conn_max_age=env_int("OPSCONSOLE_DB_CONN_MAX_AGE", 60, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker and beat share one SQLite file without lock storms.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("OPSCONSOLE_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"

# Per-process by default; set a redis:// URL when several web workers must share state
# (per-token API rate limits, sign-in lockouts, the provider's cached signing keys).
CACHE_URL = env_str("OPSCONSOLE_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "opsconsole"}
    )
}

# --- the console's configuration file --------------------------------------------------

REGISTRY_PATH = Path(env_str("OPSCONSOLE_REGISTRY", str(BASE_DIR / "config" / "demo.yaml")))

# --- AWS -------------------------------------------------------------------------------

AWS_REGION = env_str("AWS_REGION", env_str("AWS_DEFAULT_REGION", "eu-west-1"))
# Set for the embedded emulator; empty for real AWS (credentials from the standard chain).
AWS_ENDPOINT_URL = env_str("OPSCONSOLE_AWS_ENDPOINT_URL", "") or None
AWS_ROLE_ARN = env_str("OPSCONSOLE_AWS_ROLE_ARN", "") or None
AWS_CONNECT_TIMEOUT = env_float("OPSCONSOLE_AWS_CONNECT_TIMEOUT", 3.0, minimum=0.1)
AWS_READ_TIMEOUT = env_float("OPSCONSOLE_AWS_READ_TIMEOUT", 10.0, minimum=0.1)
AWS_MAX_ATTEMPTS = env_int("OPSCONSOLE_AWS_MAX_ATTEMPTS", 3, minimum=1)
# Calls made while a person waits on a page (DESIGN convention 13): short timeouts, no retry
# past a second or two, and a circuit breaker per environment and service.
AWS_INTERACTIVE_CONNECT_TIMEOUT = env_float(
    "OPSCONSOLE_AWS_INTERACTIVE_CONNECT_TIMEOUT", 0.5, minimum=0.05
)
AWS_INTERACTIVE_READ_TIMEOUT = env_float(
    "OPSCONSOLE_AWS_INTERACTIVE_READ_TIMEOUT", 1.2, minimum=0.05
)
AWS_INTERACTIVE_MAX_ATTEMPTS = env_int("OPSCONSOLE_AWS_INTERACTIVE_MAX_ATTEMPTS", 1, minimum=1)
# What one page may wait on AWS in all (its calls summed): once spent, its further calls fail
# fast and it shows what it has. The time spent goes out in the Server-Timing header.
AWS_INTERACTIVE_PAGE_SECONDS = env_float(
    "OPSCONSOLE_AWS_INTERACTIVE_PAGE_SECONDS", 1.5, minimum=0.1
)
AWS_BREAKER_FAILURES = env_int("OPSCONSOLE_AWS_BREAKER_FAILURES", 1, minimum=1)
AWS_BREAKER_COOLDOWN = env_float("OPSCONSOLE_AWS_BREAKER_COOLDOWN", 15.0, minimum=0.1)
# How long an assumed role's credentials last; botocore refreshes them before they expire.
AWS_ROLE_SESSION_SECONDS = env_int("OPSCONSOLE_AWS_ROLE_SESSION_SECONDS", 3600, minimum=900)
# The emulator accepts any credentials; real AWS ignores these when unset.
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID", "") or None
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY", "") or None

EMULATOR_PORT = env_int("OPSCONSOLE_EMULATOR_PORT", 5000, minimum=1)
OIDC_MOCK_PORT = env_int("OPSCONSOLE_OIDC_MOCK_PORT", 9400, minimum=1)
WEB_PORT = env_int("OPSCONSOLE_WEB_PORT", 8000, minimum=1)

# --- Celery ----------------------------------------------------------------------------

_BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "out"),
        "data_folder_out": str(_BROKER_DIR / "out"),
        "processed_folder": str(_BROKER_DIR / "processed"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
    # The embedded broker is three folders; kombu expects them to exist.
    for _folder in ("out", "processed", "control"):
        (_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = env_bool("OPSCONSOLE_CELERY_EAGER", False)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
SYNC_INTERVAL_SECONDS = env_float("OPSCONSOLE_SYNC_INTERVAL", 5.0, minimum=0.5)
APPROVALS_POLL_SECONDS = env_float("OPSCONSOLE_APPROVALS_POLL_INTERVAL", 3.0, minimum=0.5)
# Monitoring: metric polls and alert evaluation (seconds), sample retention (days), the
# rollup bucket (seconds), and the bearer token /metrics wants (empty: /metrics is off).
MONITORING_POLL_SECONDS = env_float("OPSCONSOLE_MONITORING_POLL_INTERVAL", 60.0, minimum=5.0)
MONITORING_EVALUATE_SECONDS = env_float(
    "OPSCONSOLE_MONITORING_EVALUATE_INTERVAL", 15.0, minimum=1.0
)
MONITORING_RAW_RETENTION_DAYS = env_int("OPSCONSOLE_MONITORING_RAW_RETENTION_DAYS", 2, minimum=1)
MONITORING_ROLLUP_RETENTION_DAYS = env_int(
    "OPSCONSOLE_MONITORING_ROLLUP_RETENTION_DAYS", 30, minimum=1
)
MONITORING_ROLLUP_SECONDS = env_int("OPSCONSOLE_MONITORING_ROLLUP_SECONDS", 300, minimum=60)
METRICS_TOKEN = env_str("OPSCONSOLE_METRICS_TOKEN", "")
# A kind's read model older than this is shown as stale.
SYNC_STALE_AFTER_SECONDS = env_int("OPSCONSOLE_SYNC_STALE_AFTER", 120, minimum=1)
# Kinds whose status change events the console consumes (registry saga_sync) are listed
# only this often, as a safety net; the event queue is read every SYNC_EVENTS_INTERVAL.
SYNC_SAFETY_NET_SECONDS = env_float("OPSCONSOLE_SYNC_SAFETY_NET", 60.0, minimum=1)
SYNC_EVENTS_INTERVAL = env_float("OPSCONSOLE_SYNC_EVENTS_INTERVAL", 1.0, minimum=0.2)

# --- the console's budget of AWS calls (README "Budget of AWS calls") -------------------


def _env_pairs(name: str, default: str, parse: Any, what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in env_list(name, default):
        key, sep, value = item.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError(item)
            out[key.strip()] = parse(value.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not {what}") from None
    return out


def _share(value: str) -> float:
    share = float(value)
    if not 0 < share <= 1:
        raise ValueError(value)
    return share


def _quota(value: str) -> tuple[float, float]:
    burst, _, rate = value.partition("/")
    pair = (float(burst), float(rate))
    if pair[0] < 1 or pair[1] <= 0:
        raise ValueError(value)
    return pair


# Off: no call waits for the budget (the emulator's throttling and AWS's still apply).
AWS_BUDGET_ENABLED = env_bool("OPSCONSOLE_AWS_BUDGET", True)
# The share of each throttled API's rate (and burst) that one kind of the console's work may
# take; the company's own services need the rest.
AWS_BUDGET_SHARES: dict[str, float] = _env_pairs(
    "OPSCONSOLE_AWS_BUDGET_SHARES",
    "sync=0.2,events=0.1,backfill=0.2,recovery=0.2,monitoring=0.05,interactive=0.05,other=0.1",
    _share,
    "kind=share with 0 < share <= 1",
)
# The account's quotas where they differ from AWS's defaults of the large regions, as
# service.Operation=burst/rate per second (e.g. stepfunctions.DescribeExecution=250/10).
AWS_QUOTAS: dict[str, tuple[float, float]] = _env_pairs(
    "OPSCONSOLE_AWS_QUOTAS", "", _quota, "service.Operation=burst/rate"
)
# One bucket for every worker: in Redis when the broker is Redis, else in a SQLite file that
# the processes of this one machine share (the embedded broker is one machine).
AWS_BUDGET_REDIS_URL = env_str(
    "OPSCONSOLE_AWS_BUDGET_REDIS_URL",
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else "",
)
AWS_BUDGET_FILE = VAR_DIR / "aws-budget.sqlite3"
# How long background work waits for a token before it stops and resumes on its next run;
# a page waits at most AWS_BUDGET_INTERACTIVE_WAIT and then shows what it has.
AWS_BUDGET_MAX_WAIT = env_float("OPSCONSOLE_AWS_BUDGET_MAX_WAIT", 30.0, minimum=0)
AWS_BUDGET_INTERACTIVE_WAIT = env_float("OPSCONSOLE_AWS_BUDGET_INTERACTIVE_WAIT", 0.5, minimum=0)
# Link from a saga's ticket reference to the ticketing system, e.g.
# https://tickets.example.com/browse/{ticket}; empty: tickets are shown as plain text.
TICKET_URL_TEMPLATE = env_str("OPSCONSOLE_TICKET_URL_TEMPLATE", "")

# --- integrations (webhooks, notification channels, the ServiceNow preset) --------------

# The console's address as people reach it, for links in events, incidents and mails.
PUBLIC_URL = env_str("OPSCONSOLE_PUBLIC_URL", "") or f"http://127.0.0.1:{WEB_PORT}"
# Seconds one outbound delivery (webhook, ServiceNow call) may take before it is retried.
INTEGRATIONS_TIMEOUT = env_float("OPSCONSOLE_INTEGRATIONS_TIMEOUT", 15.0, minimum=0.1)
# Hosts or networks (CIDR) outbound calls may reach although loopback or private; empty in
# production, so a subscription cannot probe the internal network.
INTEGRATIONS_ALLOWED_DESTINATIONS = env_list("OPSCONSOLE_INTEGRATIONS_ALLOW", "")
# The ServiceNow preset: the instance, and its credentials from the environment or a secrets
# file (two lines, user then password), never from the database.
SERVICENOW_URL = env_str("OPSCONSOLE_SERVICENOW_URL", "")
SERVICENOW_USER = env_str("OPSCONSOLE_SERVICENOW_USER", "")
SERVICENOW_PASSWORD = env_str("OPSCONSOLE_SERVICENOW_PASSWORD", "")
SERVICENOW_SECRETS_FILE = env_str("OPSCONSOLE_SERVICENOW_SECRETS_FILE", "")
# Mail (the email channel, and telling a webhook's owner it was disabled).
EMAIL_HOST = env_str("OPSCONSOLE_SMTP_HOST", "127.0.0.1")
EMAIL_PORT = env_int("OPSCONSOLE_SMTP_PORT", 25, minimum=1)
EMAIL_TIMEOUT = env_int("OPSCONSOLE_SMTP_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("OPSCONSOLE_MAIL_FROM", "opsconsole@localhost")

# --- identity --------------------------------------------------------------------------

AUTH_USER_MODEL = "auth.User"
AUTHENTICATION_BACKENDS = [
    "opsconsole.identity.oidc.ConsoleOIDCBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "identity:login"

OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "opsconsole")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "") or "opsconsole-demo-secret"
OIDC_OP_ISSUER = env_str("OIDC_OP_ISSUER", "") or f"http://127.0.0.1:{OIDC_MOCK_PORT}"
# Each endpoint defaults to the local provider's layout under the issuer when unset or empty.
OIDC_OP_AUTHORIZATION_ENDPOINT = (
    env_str("OIDC_OP_AUTHORIZATION_ENDPOINT", "") or f"{OIDC_OP_ISSUER}/oauth2/authorize"
)
OIDC_OP_TOKEN_ENDPOINT = env_str("OIDC_OP_TOKEN_ENDPOINT", "") or f"{OIDC_OP_ISSUER}/oauth2/token"
# "none": claims come from the verified ID token alone (no userinfo call).
OIDC_OP_USER_ENDPOINT = env_str("OIDC_OP_USER_ENDPOINT", "") or f"{OIDC_OP_ISSUER}/userinfo"
if OIDC_OP_USER_ENDPOINT.lower() == "none":
    OIDC_OP_USER_ENDPOINT = ""
OIDC_OP_JWKS_ENDPOINT = env_str("OIDC_OP_JWKS_ENDPOINT", "") or f"{OIDC_OP_ISSUER}/jwks"
OIDC_OP_LOGOUT_ENDPOINT = env_str("OIDC_OP_LOGOUT_ENDPOINT", "") or None
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_USE_NONCE = True
OIDC_TIMEOUT = env_float("OIDC_TIMEOUT", 5.0, minimum=0.1)
OIDC_VERIFY_SSL = env_bool("OIDC_VERIFY_SSL", True)
OIDC_STORE_ID_TOKEN = True
# Hardened views and sign-out (opsconsole/identity/oidc.py).
OIDC_CALLBACK_CLASS = "opsconsole.identity.oidc.ConsoleCallbackView"
OIDC_OP_LOGOUT_URL_METHOD = "opsconsole.identity.oidc.provider_logout_url"
# Seconds of clock difference tolerated on the ID token's exp/iat/nbf.
OIDC_CLOCK_SKEW = env_int("OIDC_CLOCK_SKEW", 60, minimum=0)
# How long the provider's signing keys are cached (an unknown key id refetches at once).
OIDC_JWKS_CACHE_SECONDS = env_int("OIDC_JWKS_CACHE_SECONDS", 3600, minimum=0)
# A sign-in must come back from the provider within this many seconds.
OIDC_STATE_MAX_AGE = env_int("OIDC_STATE_MAX_AGE", 600, minimum=30)
OIDC_GROUPS_CLAIM = env_str("OIDC_GROUPS_CLAIM", "groups")
# "group=role,group=role": the provider's groups mapped to the console's four roles.
OIDC_ROLE_MAP = env_str(
    "OIDC_ROLE_MAP",
    "opsconsole-viewers=viewer,opsconsole-operators=operator,"
    "opsconsole-approvers=approver,opsconsole-admins=admin",
)
# The demo sign-in page lists the local provider's users; never on for a real provider.
OIDC_DEMO_USERS = env_bool("OPSCONSOLE_OIDC_DEMO_USERS", False)
# Written by the local provider when it starts (who its users are); read by the sign-in page.
OIDC_DEMO_USERS_FILE = VAR_DIR / "oidc-demo-users.json"
BREAK_GLASS_LOGIN = env_bool("OPSCONSOLE_BREAK_GLASS_LOGIN", False)

SESSION_IDLE_TIMEOUT = timedelta(
    seconds=env_int("OPSCONSOLE_SESSION_IDLE_SECONDS", 30 * 60, minimum=60)
)
SESSION_MAX_AGE = timedelta(
    seconds=env_int("OPSCONSOLE_SESSION_MAX_SECONDS", 12 * 3600, minimum=60)
)
SESSION_COOKIE_AGE = int(SESSION_MAX_AGE.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- the web surface -------------------------------------------------------------------

SECURE = env_bool("OPSCONSOLE_SECURE", not DEBUG)
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = env_int("OPSCONSOLE_HSTS_SECONDS", 31536000 if SECURE else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE else None
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        # Sign-out redirects to the provider's end-session endpoint.
        "form-action": ["'self'", OIDC_OP_ISSUER]
        + ([OIDC_OP_LOGOUT_ENDPOINT] if OIDC_OP_LOGOUT_ENDPOINT else []),
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "opsconsole.identity.api.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["opsconsole.identity.permissions.IsViewer"],
    "DEFAULT_THROTTLE_CLASSES": ["opsconsole.identity.api.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env_str("OPSCONSOLE_API_RATE", "600/minute")},
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "opsconsole.web.api.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "opsconsole.web.openapi.ProblemAutoSchema",
    # Timestamps leave the API as RFC 3339 with `Z`: the output serializers' shared field
    # (opsconsole.web.serializers.UtcDateTimeField) converts to UTC first, so TIME_ZONE (what
    # pages show) never leaks into the API.
    "DATETIME_FORMAT": "iso-8601",
}

# The API's contract (api/openapi.yaml, `make schema`). Nothing here may depend on the
# environment or the registry: the committed schema must be the same wherever it is built.
SPECTACULAR_SETTINGS = {
    "TITLE": "opsconsole API",
    "DESCRIPTION": (
        "The operations console's REST API for the ticketing system: sagas, their timelines "
        "and approval requests, and the audit log. Service accounts send "
        "`Authorization: Bearer <token>`; every error is `application/problem+json` "
        "(RFC 9457) with a stable `code`. Timestamps are RFC 3339 in UTC (`Z`)."
    ),
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PUBLIC": True,
    # The schema and its docs need the same role as the rest of the API.
    "SERVE_PERMISSIONS": ["opsconsole.identity.permissions.IsViewer"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several members are called `status` (or `outcome`, `decision`) with different word
    # lists: each list gets one stable name (strings, imported lazily by drf-spectacular).
    "ENUM_NAME_OVERRIDES": {
        "SagaStatusEnum": "sagas.models.SagaStatus",
        "StepOutcomeEnum": "sagas.serializers.OUTCOMES",
        "ApprovalStatusEnum": "approvals.models.ApprovalStatus",
        "ApprovalStatusFilterEnum": "approvals.serializers.STATUS_FILTERS",
        "DecisionEnum": "approvals.models.Decision",
        "DecisionOutcomeEnum": "approvals.serializers.OUTCOMES",
        "AuditResultEnum": "opsconsole.audit.models.AuditEvent.RESULTS",
        "AlertStateEnum": "opsconsole.monitoring.models.AlertState",
    },
    # The committed schema must not depend on the database it was generated against.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "opsconsole.web.openapi.drop_database_integer_ranges",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "opsconsole.middleware.RequestIdLogFilter"},
        "redact": {"()": "opsconsole.web.masking.RedactingLogFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("OPSCONSOLE_LOG_LEVEL", "INFO")},
    "loggers": {
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
        "werkzeug": {"level": "WARNING"},
        # The emulator logs every failed state as an error; failures are the console's data.
        "moto": {"level": "CRITICAL"},
    },
}
