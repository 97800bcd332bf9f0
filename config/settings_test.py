"""Test settings: fixed keys, django-q2 in sync mode, fast hashing.

django-q2 reads `Q_CLUSTER["sync"]` once at import, so sync mode has to be set here rather than
with `override_settings`. The SQLite test database is a file (not `:memory:`) so that the
end-to-end test can point a real `qcluster` process at it.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdefghij")
# Two keys: the first encrypts, both decrypt (rotation tests replace this list).
os.environ.setdefault(
    "ENCRYPTION_KEYS",
    "jf-yG5Y4aG4vFC13Sg3C1iOBu2ikA6FLdwiEv33WYPo=,1q_YTatmaqfrdGebe9YDCAo0ejCz04oelu1Jf-2JwaQ=",
)

from .settings import *  # noqa: F403
from .settings import DATABASES, Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
Q_CLUSTER = {**Q_CLUSTER, "sync": os.environ.get("Q_SYNC", "1") == "1", "poll": 0.2}
(BASE_DIR / ".local").mkdir(exist_ok=True)  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ.get(
        "TEST_SQLITE_PATH",
        # One file per test process, so two test runs in one checkout never share a database.
        str(BASE_DIR / ".local" / f"test-db-{os.getpid()}.sqlite3"),  # noqa: F405
    )
DHIS2_BACKOFF_BASE = 0.0
DHIS2_BACKOFF_MAX = 0.0
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
# DEBUG is off here but tests do not run collectstatic: source files through the finders
# (tests/deploy checks the production manifest storage against a real collectstatic).
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = BASE_DIR / ".local" / "test-static-root"  # noqa: F405 (empty; WhiteNoise wants it)
STATIC_ROOT.mkdir(exist_ok=True)
