"""gunicorn settings for dhis2sync (`gunicorn --config deploy/gunicorn.conf.py config.wsgi`).

Every value can be changed from the environment, so the Docker image, compose and the systemd
units share this one file. The web process only serves pages, the API and static files
(WhiteNoise); DHIS2 work runs in the `qcluster` worker, so requests stay short and sync workers
suffice.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
# Recycle workers now and then: bounds any slow leak in a long-lived process.
max_requests = 2000
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
# Proxies whose X-Forwarded-* headers gunicorn trusts (Django's own check is BEHIND_TLS_PROXY).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
if os.path.isdir("/dev/shm"):  # noqa: S108 (gunicorn docs: a RAM disk in containers)
    worker_tmp_dir = "/dev/shm"  # noqa: S108 (worker heartbeat files off a slow disk)

if os.environ.get("LOG_FORMAT", "plain").lower() == "json":
    # The same JSON lines as the application (config.settings LOGGING) for gunicorn's own
    # error and access loggers, so one collector parses the whole stream.
    _json = {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": "%(levelname)s %(name)s %(message)s",
        "rename_fields": {"levelname": "level", "name": "logger"},
        "timestamp": True,
    }
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": _json},
        "handlers": {
            "json_stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            },
            "json_stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        # gunicorn merges this over its defaults key by key: the root logger must name one of
        # these handlers, or gunicorn refuses to start ("Unable to configure root logger").
        "root": {"level": "INFO", "handlers": ["json_stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["json_stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["json_stdout"], "propagate": False},
        },
    }
