"""LOG_FORMAT=json: one JSON object per line, with the run id on every line of a run.

The run goes through the real path (`launch` then `execute_run`, django-q2 in sync mode) with
the `connection_check` job against a respx-mocked DHIS2 answering a recorded 2.40.4.1 body.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx
from django.conf import settings
from django.utils.module_loading import import_string

from jobs import services
from jobs.models import Run
from tests.samples import load_sample

ROOT = Path(__file__).resolve().parents[2]


def _from_config(entry: dict):
    """Build a formatter or filter exactly as dictConfig does from a `"()"` factory entry."""
    kwargs = {key: value for key, value in entry.items() if key != "()"}
    return import_string(entry["()"])(**kwargs)


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Capture the root logger through a handler configured like settings.LOGGING's console
    handler with LOG_FORMAT=json (same formatter entry, same filter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_from_config(settings.LOGGING["formatters"]["json"]))
    handler.addFilter(_from_config(settings.LOGGING["filters"]["run_id"]))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


@respx.mock
def test_every_line_of_a_run_carries_its_run_id(
    source_instance, json_lines, django_capture_on_commit_callbacks
) -> None:
    info = load_sample("system-info-2.40.4.1.json")
    respx.get("https://source.example.org/dhis/api/system/info").mock(
        return_value=httpx.Response(200, json=info)
    )
    respx.get("https://source.example.org/dhis/api/me").mock(
        return_value=httpx.Response(200, json={"username": "admin", "name": "John Traore"})
    )
    logging.getLogger("tests.deploy").info("before the run")
    with django_capture_on_commit_callbacks(execute=True):
        run = services.launch(
            "connection_check", {"instance_ids": [source_instance.pk]}, user=None, trigger="cli"
        )
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED, run.error
    logging.getLogger("tests.deploy").info("after the run")

    lines = parsed(json_lines)
    by_message = {line["message"]: line for line in lines}
    # The run's own log line (jobs.context) and a line another module logged while the handler
    # ran (connections.services) both carry the id as a field.
    run_line = next(line for line in lines if line["logger"] == "jobs.run")
    assert run_line["run_id"] == run.pk
    assert (
        run_line["message"]
        == f"run {run.pk}: Source HMIS: Connected to {info['systemName']} 2.40.4.1 as admin."
    )
    assert run_line["level"] == "INFO"
    service_line = by_message[f"Connection test of instance {source_instance.pk}: ok"]
    assert service_line["logger"] == "connections.services"
    assert service_line["run_id"] == run.pk
    # Outside a run there is no run_id key at all.
    assert "run_id" not in by_message["before the run"]
    assert "run_id" not in by_message["after the run"]
    assert {"timestamp", "level", "logger", "message"} <= set(by_message["after the run"])


def test_log_format_json_configures_django_logging() -> None:
    """The setting itself: a process started with LOG_FORMAT=json writes JSON lines."""
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('dhis2sync.check').warning('hello %s', 'world')"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "LOG_FORMAT": "json"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello world"
    assert line["level"] == "WARNING"
    assert line["logger"] == "dhis2sync.check"
