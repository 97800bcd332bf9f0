"""The platform's own database fails during a run: the run record still ends truthfully.

The database is the outer boundary here, so the fault is injected where Django hands SQL to the
driver (`connection.execute_wrapper`): for a window of queries every statement raises the
driver's `OperationalError` ("database is locked" as SQLite says it, or the message psycopg
gives for a PostgreSQL connection that dropped). A run must then end failed with the reason
(and be resumable), or succeed when the window closes while the platform retries its final
write; if the database stays away past those retries, the run's heartbeat has stopped and the
stall check fails it once the database is back. Never "running" for ever.

The tests use `transactional_db`: a worker runs in autocommit, and inside a test transaction the
first error would poison every later statement (as PostgreSQL does for a real transaction).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from jobs import services as job_services
from jobs.models import Run
from jobs.registry import Operation
from jobs.services import fail_stalled_runs, launch
from jobs.tasks import execute_run

LOCKED = "database is locked"
DROPPED = "server closed the connection unexpectedly"


class FailingDatabase:
    """While `failures_left` > 0, each SQL statement raises OperationalError(message)."""

    def __init__(self, message: str) -> None:
        self.message = message
        self.failures_left = 0
        self.failed = 0

    def __call__(self, execute, sql, params, many, context):
        if self.failures_left > 0:
            self.failures_left -= 1
            self.failed += 1
            raise OperationalError(self.message)
        return execute(sql, params, many, context)


@pytest.fixture
def waits(monkeypatch) -> list[float]:
    """The retry waits of `finish_run`, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(job_services.time, "sleep", slept.append)
    return slept


def run_with_handler(monkeypatch, handler, database: FailingDatabase) -> Run:
    """Launch a run (any kind: the handler is replaced) and execute it as a worker would,
    with the database fault in place for every statement."""
    monkeypatch.setattr(Operation, "handler", lambda self: handler)
    run = launch("connection_check", {"instance_id": 0}, user=None, trigger="cli", enqueue=False)
    with connection.execute_wrapper(database):
        execute_run(run.pk)
    return Run.objects.get(pk=run.pk)


@pytest.mark.parametrize("message", [LOCKED, DROPPED])
def test_a_database_error_inside_the_run_fails_it_with_the_reason_even_if_the_final_write_hits_it(
    transactional_db, monkeypatch, waits, message: str
) -> None:
    database = FailingDatabase(message)

    def handler(ctx):
        # The handler's own query fails, and so do the first two attempts of the final write.
        database.failures_left = 3
        Run.objects.count()

    run = run_with_handler(monkeypatch, handler, database)
    assert database.failures_left == 0 and database.failed == 3
    assert run.status == Run.Status.FAILED
    assert message in run.error and "resume the run" in run.error
    assert run.finished_at is not None
    assert waits == list(job_services.FINISH_RETRY_WAITS[:2])
    assert run.log_entries.filter(message=run.error).exists()


def test_a_lock_that_clears_while_the_final_write_is_retried_lets_the_run_succeed(
    transactional_db, monkeypatch, waits
) -> None:
    database = FailingDatabase(LOCKED)

    def handler(ctx):
        database.failures_left = 2  # the first two attempts to record "succeeded"
        return Run.Status.SUCCEEDED

    run = run_with_handler(monkeypatch, handler, database)
    assert database.failed == 2
    assert run.status == Run.Status.SUCCEEDED and run.error == ""
    assert len(waits) == 2


def test_a_database_that_stays_away_leaves_the_run_to_the_stall_check(
    transactional_db, monkeypatch, waits, settings
) -> None:
    database = FailingDatabase(DROPPED)

    def handler(ctx):
        database.failures_left = 10_000  # down until long after finish_run gave up
        return Run.Status.SUCCEEDED

    run = run_with_handler(monkeypatch, handler, database)  # returns: nothing escapes
    assert waits == list(job_services.FINISH_RETRY_WAITS)  # every retry was tried
    assert run.status == Run.Status.RUNNING  # what the database still says...

    # ... until the stall check runs once the database is back.
    assert fail_stalled_runs(now=timezone.now()) == 0  # its heartbeat is recent
    later = timezone.now() + timedelta(seconds=settings.RUN_STALL_SECONDS + 1)
    assert fail_stalled_runs(now=later) == 1
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert "worker stopped responding" in run.error
