"""/healthz and /readyz: what a load balancer, Docker and compose see.

The worker signal is produced the way production produces it: django-q2's scheduler queues the
housekeeping heartbeat schedule created by `migrate`, a worker (sync mode here) runs it and the
monitor saves its result. Only the database outage is simulated, by making the connection's
cursor raise, because the database is the outer boundary of these checks.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import OperationalError, connections
from django.test import Client
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule as QSchedule
from django_q.models import Success
from django_q.scheduler import scheduler

from config import health
from config.health import WORKER_HEARTBEAT_FUNC, WORKER_HEARTBEAT_NAME
from jobs.models import Run

pytestmark = pytest.mark.django_db


def beat() -> None:
    """Let the django-q2 scheduler fire the heartbeat schedule (and only it) now."""
    now = timezone.now()
    QSchedule.objects.exclude(name=WORKER_HEARTBEAT_NAME).update(next_run=now + timedelta(days=1))
    QSchedule.objects.filter(name=WORKER_HEARTBEAT_NAME).update(next_run=now - timedelta(seconds=1))
    scheduler(broker=get_broker())


def readyz(client: Client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, response.json()


def test_migrate_registers_the_heartbeat_every_minute() -> None:
    schedule = QSchedule.objects.get(name=WORKER_HEARTBEAT_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        WORKER_HEARTBEAT_FUNC,
        QSchedule.MINUTES,
        1,
        -1,
    )


def test_healthz_answers_without_touching_the_database(
    client: Client, django_assert_num_queries
) -> None:
    broken = mock.patch.object(
        connections["default"], "cursor", side_effect=OperationalError("server closed")
    )
    with django_assert_num_queries(0), broken:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_probes_need_no_login_and_ignore_host_and_https_redirect(client: Client, settings) -> None:
    # A production site: one public host name, HTTPS enforced. A probe calls the container's
    # address over plain HTTP and must still be answered (not 400, not 301 to https).
    settings.ALLOWED_HOSTS = ["dhis2sync.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    beat()
    assert client.get("/healthz", HTTP_HOST="10.0.3.7:8000").status_code == 200
    response = client.get("/readyz", HTTP_HOST="127.0.0.1:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "worker": "ok"}}
    # Every other page still gets the host check and the redirect.
    assert client.get("/", HTTP_HOST="10.0.3.7:8000").status_code == 400
    assert client.get("/", HTTP_HOST="dhis2sync.example.org").status_code == 301


def test_probes_refuse_writes(client: Client) -> None:
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


def test_ready_after_a_worker_ran_the_heartbeat(client: Client) -> None:
    assert readyz(client) == (
        503,
        {"status": "unavailable", "checks": {"database": "ok", "worker": "no heartbeat"}},
    )
    beat()
    assert Success.objects.filter(func=WORKER_HEARTBEAT_FUNC).count() == 1
    assert readyz(client) == (200, {"status": "ok", "checks": {"database": "ok", "worker": "ok"}})


def test_stale_heartbeat_is_not_ready(client: Client, settings) -> None:
    settings.WORKER_HEARTBEAT_MAX_AGE = 300
    beat()
    with time_machine.travel(timezone.now() + timedelta(seconds=290)):
        assert readyz(client)[0] == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=310)):
        assert readyz(client) == (
            503,
            {"status": "unavailable", "checks": {"database": "ok", "worker": "stale"}},
        )


def test_a_run_beating_its_heart_counts_as_a_live_worker(client: Client, settings) -> None:
    # Every worker busy with a long transfer: the heartbeat task waits in the queue, but the
    # running run's own heartbeat shows a worker is alive.
    settings.RUN_STALL_SECONDS = 900
    beat()
    later = timezone.now() + timedelta(hours=1)
    run = Run.objects.create(kind="connection_check", trigger="cli", status=Run.Status.RUNNING)
    Run.objects.filter(pk=run.pk).update(heartbeat_at=later - timedelta(seconds=600))
    with time_machine.travel(later):
        assert readyz(client)[0] == 200
    Run.objects.filter(pk=run.pk).update(heartbeat_at=later - timedelta(seconds=901))
    with time_machine.travel(later):
        assert readyz(client)[1]["checks"]["worker"] == "stale"


def test_database_down_is_not_ready_and_says_nothing_more(client: Client) -> None:
    beat()
    error = OperationalError('connection to server at "db.internal" (10.0.0.9) failed')
    with mock.patch.object(connections["default"], "cursor", side_effect=error):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unreachable", "worker": "not checked"},
    }
    assert b"db.internal" not in response.content and b"10.0.0.9" not in response.content


def test_heartbeats_do_not_crowd_out_other_results() -> None:
    other = Success.objects.create(
        id="a" * 32,
        name="other",
        func="jobs.tasks.execute_run",
        started=timezone.now(),
        stopped=timezone.now(),
        success=True,
    )
    start = timezone.now()
    for minute in range(6):
        with time_machine.travel(start + timedelta(minutes=minute), tick=False):
            beat()
    assert Success.objects.filter(func=WORKER_HEARTBEAT_FUNC).count() == health.HEARTBEATS_KEPT
    assert Success.objects.filter(pk=other.pk).exists()


def test_worker_healthcheck_command_prints_the_readyz_answer() -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert health.main([]) == 1
    assert json.loads(out.getvalue())["checks"]["worker"] == "no heartbeat"
    beat()
    out = io.StringIO()
    with redirect_stdout(out):
        assert health.main([]) == 0
    assert json.loads(out.getvalue()) == {
        "status": "ok",
        "checks": {"database": "ok", "worker": "ok"},
    }
