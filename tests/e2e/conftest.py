"""End-to-end helpers: a real `qcluster` process pointed at the test database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from jobs.models import Run
from simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]

# The day every e2e simulator believes it is; its clock runs on from the real time of day, so
# `serverDate`, relative periods and incremental watermarks agree, and no assertion depends on
# the day the suite runs. A Monday: the latest weekly period ended the day before.
E2E_TODAY = "2024-07-15"


def e2e_simulator(dataset: str, version: str = "2.40.4.1", **options: Any) -> Simulator:
    """A simulator of `dataset` on the e2e day (`options` are further dataset options)."""
    return Simulator(version, dataset, dataset_options={"today": E2E_TODAY, **options})


def test_database_url() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = quote(s["USER"], safe="") + (
        f":{quote(s['PASSWORD'], safe='')}" if s["PASSWORD"] else ""
    )
    host = s["HOST"] or "127.0.0.1"
    if host.startswith("/"):  # a Unix socket folder, written url-encoded in the host part
        return f"postgres://{auth}@{quote(host, safe='')}/{s['NAME']}"
    return f"postgres://{auth}@{host}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def qcluster(transactional_db) -> Iterator[subprocess.Popen]:
    """Start `manage.py qcluster` (not in sync mode) on the test database; stop it afterwards."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "DATABASE_URL": test_database_url(),
        "Q_SYNC": "0",
        "PYTHONUNBUFFERED": "1",
    }
    log = open(ROOT / ".local" / "qcluster-e2e.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def qcluster_log(tail: int = 3000) -> str:
    """The end of what the `qcluster` fixture's worker wrote."""
    return (ROOT / ".local" / "qcluster-e2e.log").read_text()[-tail:]


def finished(run_id: int, timeout: float = 120) -> Run:
    """The run once the `qcluster` worker has finished it; fails with the worker's log if it
    has not after `timeout` seconds."""
    done = wait_for(lambda: Run.objects.get(pk=run_id).status in Run.FINISHED, timeout=timeout)
    run = Run.objects.get(pk=run_id)
    assert done, f"run {run_id} still {run.status}; worker log:\n{qcluster_log()}"
    return run
