"""The deployment files agree with the code: compose.yaml, the Dockerfile, gunicorn, systemd.

Docker is not available where the tests run, so compose.yaml is checked by parsing it (YAML with
merge keys, as Compose reads it) and the Dockerfile by its instructions.
"""

from __future__ import annotations

import configparser
import logging
import logging.config
import runpy
from pathlib import Path

import pytest
import yaml
from pythonjsonlogger.json import JsonFormatter

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_has_web_worker_postgres_and_optional_redis(compose: dict) -> None:
    services = compose["services"]
    assert {"postgres", "migrate", "web", "worker", "redis"} <= set(services)
    assert services["redis"]["profiles"] == ["redis"]  # optional: the ORM broker is enough
    for name in ("migrate", "web", "worker"):
        env = services[name]["environment"]
        assert env["DEBUG"] == "false"
        assert "@postgres:5432/dhis2sync" in env["DATABASE_URL"]
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["worker"]["command"] == ["python", "manage.py", "qcluster"]
    assert "pgdata" in compose["volumes"]


def test_compose_healthchecks_use_the_health_endpoints(compose: dict) -> None:
    services = compose["services"]
    assert "http://127.0.0.1:8000/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "python", "-m", "config.health"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"]


def test_dockerfile_serves_with_gunicorn_and_checks_healthz() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "http://127.0.0.1:8000/healthz" in text.split("HEALTHCHECK", 1)[1]
    assert 'CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "config.wsgi"]' in text
    assert "collectstatic --noinput" in text
    assert "USER dhis2sync" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".local", ".venv", ".git"} <= set(ignored)  # no secrets or local state


def test_gunicorn_config_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    monkeypatch.setenv("GUNICORN_BIND", "127.0.0.1:9001")
    monkeypatch.setenv("LOG_FORMAT", "json")
    conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert (conf["workers"], conf["bind"]) == (5, "127.0.0.1:9001")
    formatter = conf["logconfig_dict"]["formatters"]["json"]
    assert formatter["()"] == "pythonjsonlogger.json.JsonFormatter"
    # gunicorn applies its defaults with our keys over them, then dictConfig: do the same.
    from gunicorn.glogging import CONFIG_DEFAULTS

    merged = {**CONFIG_DEFAULTS, **conf["logconfig_dict"]}
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logging.config.dictConfig(merged)
        assert isinstance(logging.getLogger("gunicorn.access").handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    monkeypatch.setenv("LOG_FORMAT", "plain")
    assert "logconfig_dict" not in runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "deploy" / "systemd" / name)
    return parser


def test_systemd_units() -> None:
    web, worker = _unit("dhis2sync-web.service"), _unit("dhis2sync-worker.service")
    assert web["Service"]["ExecStart"].endswith(
        "gunicorn --config deploy/gunicorn.conf.py config.wsgi"
    )
    assert worker["Service"]["ExecStart"].endswith("manage.py qcluster")
    # Only the cluster's main process gets SIGTERM (see jobs/management/commands/serve.py).
    assert worker["Service"]["KillMode"] == "mixed"
    for unit in (web, worker):
        assert unit["Service"]["EnvironmentFile"] == "/etc/dhis2sync/env"
        assert unit["Service"]["User"] == "dhis2sync"
        assert unit["Install"]["WantedBy"] == "multi-user.target"
