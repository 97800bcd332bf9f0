"""Settings for dhis2sync, read from the environment (or a `.env` file) with django-environ.

Production (DEBUG=False) refuses to start without a real SECRET_KEY and ENCRYPTION_KEYS, because
a made-up key would silently make every stored DHIS2 credential unreadable after a restart.
Development (DEBUG=True) generates both once into `.local/dev-keys.json` and says so.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import django_stubs_ext
import environ  # type: ignore[import-untyped]  # django-environ ships no types
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

# Django's admin, form and formset classes are generic in django-stubs only; this lets them be
# subscripted at run time too (`admin.ModelAdmin[Transfer]`), as the typed modules write them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG: bool = env.bool("DEBUG", default=False)

_HOW_TO_SECRET = (
    "Generate one with: python -c 'from django.core.management.utils import "
    "get_random_secret_key as k; print(k())' and set SECRET_KEY in the environment or .env."
)
_HOW_TO_FERNET = (
    "Generate one with: python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())' and set ENCRYPTION_KEYS in the environment or .env "
    "(comma-separated; the first key encrypts, all keys decrypt)."
)


def _development_keys() -> dict[str, str]:
    """Create (once) and return the local development keys, announcing it on stderr."""
    path = BASE_DIR / ".local" / "dev-keys.json"
    if path.exists():
        existing: dict[str, str] = json.loads(path.read_text())
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = {
        "SECRET_KEY": get_random_secret_key(),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    try:  # owner-only from the first byte; O_EXCL: a process starting alongside keeps its keys
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        theirs: dict[str, str] = json.loads(path.read_text())
        return theirs
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(keys, indent=2))
    print(
        f"dhis2sync: generated development SECRET_KEY and ENCRYPTION_KEYS in {path.name} "
        "(under .local/). Keep that file: stored DHIS2 credentials are encrypted with it.",
        file=sys.stderr,
    )
    return keys


SECRET_KEY: str = env.str("SECRET_KEY", default="")
ENCRYPTION_KEYS: list[str] = env.list("ENCRYPTION_KEYS", default=[])
if not SECRET_KEY or not ENCRYPTION_KEYS:
    if not DEBUG:
        missing = [
            name
            for name, value in (("SECRET_KEY", SECRET_KEY), ("ENCRYPTION_KEYS", ENCRYPTION_KEYS))
            if not value
        ]
        hints = []
        if not SECRET_KEY:
            hints.append(_HOW_TO_SECRET)
        if not ENCRYPTION_KEYS:
            hints.append(_HOW_TO_FERNET)
        raise ImproperlyConfigured(
            f"{' and '.join(missing)} must be set when DEBUG is off. "
            + " ".join(hints)
            + " For local development set DEBUG=true and keys are generated for you."
        )
    _dev = _development_keys()
    SECRET_KEY = SECRET_KEY or _dev["SECRET_KEY"]
    ENCRYPTION_KEYS = ENCRYPTION_KEYS or [_dev["ENCRYPTION_KEYS"]]
for _n, _key in enumerate(ENCRYPTION_KEYS, start=1):
    try:
        Fernet(_key.strip().encode())
    except ValueError:
        raise ImproperlyConfigured(
            f"ENCRYPTION_KEYS entry {_n} is not a Fernet key (32 url-safe base64 bytes). "
            + _HOW_TO_FERNET
        ) from None

ALLOWED_HOSTS: list[str] = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "accounts",
    "connections",
    "jobs",
    "transfers",
    "metadata_sync",
    "completeness",
    "tracker",
    "simulator",
    # Security (README "Security"): login throttling, CSP header, audit log.
    "axes",
    "csp",
    "auditlog",
    "audit",
]

MIDDLEWARE = [
    # /healthz and /readyz answer before host validation and the HTTPS redirect (config.health).
    "config.health.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    # Static files from the web process itself (gunicorn needs no separate file server).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ties audit log entries to the user (session or API token) who made the change.
    "audit.middleware.AuditActorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a lock-out noticed during authentication into the lock-out response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The ORM broker, the web server and the workers all write to one SQLite file. IMMEDIATE
    # transactions plus a busy timeout and WAL make writers queue instead of failing with
    # "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE: str = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Production serves `collectstatic` output through WhiteNoise: hashed names (cached forever by
# browsers) and pre-compressed copies. Development serves the source files as they change.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
STATICFILES_DIRS = [BASE_DIR / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Security (all on when DEBUG is off; `manage.py check --deploy` is clean) ---------------
if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    if env.bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
# No script reads the CSRF cookie (forms carry the token; Swagger UI gets it from its page).
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Content-Security-Policy (django-csp): only our own files run, no inline script or style
# (templates keep scripts in static/js/ and styles in static/css/; tests/config checks it).
# The API docs page widens it for its CDN assets only (config/urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Brute-force protection of /login/, /admin/login/ and the API token endpoint (django-axes):
# AXES_FAILURE_LIMIT failures for one username from one IP lock that pair out for
# AXES_COOLOFF_MINUTES; a correct password is refused meanwhile. Unlock early in the admin
# (Axes -> Access attempts -> delete) or with `manage.py axes_reset` / `axes_reset_username`.
AUTHENTICATION_BACKENDS = [
    "audit.backends.RequestAxesBackend",  # axes, for every login that comes with a request
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED: bool = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT: int = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts while locked out are refused without extending the lock: it ends on time.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "audit.lockout.lockout_response"
# REMOTE_ADDR, or behind our TLS proxy the address that proxy appended to X-Forwarded-For
# (a client can prepend made-up addresses, never append): audit.lockout.client_ip.
AXES_CLIENT_IP_CALLABLE = "audit.lockout.client_ip"
AXES_BEHIND_PROXY: bool = env.bool("BEHIND_TLS_PROXY", default=False)

# Audit log (django-auditlog; models registered in audit/apps.py): JSON changes, readable
# references, secrets masked to a fixed marker (audit/masking.py).
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_MASK_CALLABLE = "audit.masking.mask_secret"

# --- E-mail ---------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL: str = env.str("DEFAULT_FROM_EMAIL", default="dhis2sync@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Admin", a) for a in env.list("ADMIN_EMAILS", default=[])]
SITE_URL: str = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- REST API -------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.openapi.AutoSchema",  # documents the error answers too
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "dhis2sync API",
    "DESCRIPTION": "Move data between DHIS2 instances: connections, runs, transfers and more.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI's files come from the drf-spectacular-sidecar package, served by us: the
    # platform may run offline, and the CSP allows no other origin.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "RunStatusEnum": "jobs.models.Run.Status",
        "ScheduleStatusEnum": "jobs.models.Schedule.Status",
    },
}

# --- Background jobs (django-q2) ------------------------------------------------------------
# ORM broker by default so nothing but the database must run; set REDIS_URL to use Redis.
# `timeout` (a run's wall-clock limit) stays below `retry` so a slow task is never handed to a
# second worker while the first still runs; runs are never retried by the queue (max_attempts=1):
# a failed run is resumed on purpose by a user, from its checkpoint.
Q_TIMEOUT: int = env.int("Q_TIMEOUT", default=6 * 3600)
Q_CLUSTER: dict[str, Any] = {
    "name": "dhis2sync",
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": Q_TIMEOUT,
    "retry": Q_TIMEOUT + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": 500,
    "queue_limit": 50,
    "catch_up": False,
    "poll": env.float("Q_POLL", default=1.0),
    "label": "Task queue",
    "orm": "default",
}
if env.str("REDIS_URL", default=""):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = env.str("REDIS_URL")

# --- DHIS2 client and runs -----------------------------------------------------------------
DHIS2_MAX_ATTEMPTS: int = env.int("DHIS2_MAX_ATTEMPTS", default=5)
DHIS2_BACKOFF_BASE: float = env.float("DHIS2_BACKOFF_BASE", default=1.0)
DHIS2_BACKOFF_MAX: float = env.float("DHIS2_BACKOFF_MAX", default=30.0)
RUN_STALL_SECONDS: int = env.int("RUN_STALL_SECONDS", default=900)
# Finished runs older than this many days are deleted daily with their logs (0: keep forever).
RUN_RETENTION_DAYS: int = env.int("RUN_RETENTION_DAYS", default=0)
# /readyz fails when no worker heartbeat (a task run every minute) finished this recently.
WORKER_HEARTBEAT_MAX_AGE: int = env.int("WORKER_HEARTBEAT_MAX_AGE", default=300)
# Incremental transfers re-read this many minutes before the watermark, so values saved on the
# source while the last run was starting (or with a clock skew) are not missed.
TRANSFER_INCREMENTAL_OVERLAP_MINUTES: int = env.int(
    "TRANSFER_INCREMENTAL_OVERLAP_MINUTES", default=10
)

# Event transfers: events per tracker import job (DHIS2's tracker importer takes 1,000 per job
# in its stride; 200-event jobs left a run mostly waiting for jobs), events per source page (a
# page costs DHIS2 a query whatever its size; 5,000 events are about 5 MB of JSON), import jobs
# in flight at once, and how long to wait for one job (its first poll comes after 0.2 s, then
# less often).
TRACKER_BATCH_SIZE: int = env.int("TRACKER_BATCH_SIZE", default=1000)
TRACKER_PAGE_SIZE: int = env.int("TRACKER_PAGE_SIZE", default=5000)
TRACKER_MAX_IN_FLIGHT: int = env.int("TRACKER_MAX_IN_FLIGHT", default=2)
TRACKER_JOB_POLL_TIMEOUT: float = env.float("TRACKER_JOB_POLL_TIMEOUT", default=1800.0)

# LOG_FORMAT=json writes one JSON object per line (python-json-logger) for log collectors;
# every line logged while a run executes carries its `run_id` (jobs.logcontext).
LOG_FORMAT: str = env.str("LOG_FORMAT", default="plain").lower()
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"run_id": {"()": "jobs.logcontext.RunIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["run_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # httpx logs every request line at INFO; URLs carry no secrets but are noisy.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
