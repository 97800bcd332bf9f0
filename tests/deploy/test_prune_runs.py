"""`manage.py prune_runs` and the RUN_RETENTION_DAYS housekeeping task."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule as QSchedule

from jobs.models import Run, RunLogEntry
from jobs.qschedules import PRUNE_NAME
from jobs.retention import parse_age, prune_expired_runs
from transfers.models import ChunkCheckpoint, Transfer, TransferConflict

pytestmark = pytest.mark.django_db

S = Run.Status


def make_run(status: str, *, days_ago: float, finished: bool = True, logs: int = 0) -> Run:
    """A run created `days_ago` days ago that (if `finished`) ended then too."""
    run = Run.objects.create(kind="connection_check", trigger="cli", status=status)
    when = timezone.now() - timedelta(days=days_ago)
    Run.objects.filter(pk=run.pk).update(
        created_at=when, started_at=when, finished_at=when if finished else None
    )
    RunLogEntry.objects.bulk_create(RunLogEntry(run=run, message=f"line {n}") for n in range(logs))
    return run


@pytest.fixture
def runs(profile) -> dict[str, Run]:
    made = {
        "old_succeeded": make_run(S.SUCCEEDED, days_ago=100, logs=3),
        "old_failed": make_run(S.FAILED, days_ago=91, logs=2),
        # A skipped or cancelled-while-queued run never started: its creation time counts.
        "old_cancelled_unstarted": make_run(S.CANCELLED, days_ago=120, finished=False),
        "recent_warning": make_run(S.WARNING, days_ago=89, logs=1),
        "old_running": make_run(S.RUNNING, days_ago=200, finished=False, logs=4),
        "old_queued": make_run(S.QUEUED, days_ago=150, finished=False),
    }
    old = made["old_succeeded"]
    ChunkCheckpoint.objects.create(run=old, key="ou1-202405", values=10)
    TransferConflict.objects.create(run=old, error_code="E7612", message="unknown org unit")
    Transfer.objects.create(name="RCH", profile=profile, data_set="QX4ZTUbOt3a", last_run=old)
    return made


def remaining() -> set[int]:
    return set(Run.objects.values_list("pk", flat=True))


def test_deletes_old_finished_runs_with_their_rows_and_keeps_the_rest(runs) -> None:
    out = StringIO()
    call_command("prune_runs", "--older-than", "90d", stdout=out)

    kept = {"recent_warning", "old_running", "old_queued"}
    assert remaining() == {runs[name].pk for name in kept}
    assert "Deleted 3 finished runs (and 5 log lines)" in out.getvalue()
    assert not RunLogEntry.objects.filter(run_id=runs["old_succeeded"].pk).exists()
    assert RunLogEntry.objects.count() == 1 + 4  # recent_warning's and old_running's lines
    assert not ChunkCheckpoint.objects.exists() and not TransferConflict.objects.exists()
    # A transfer whose last run was pruned stays, pointing at nothing.
    assert Transfer.objects.get(name="RCH").last_run_id is None


def test_dry_run_counts_and_deletes_nothing(runs) -> None:
    before = remaining()
    out = StringIO()
    call_command("prune_runs", "--older-than", "90d", "--dry-run", stdout=out)
    assert "Would delete 3 finished runs (and 5 log lines)" in out.getvalue()
    assert remaining() == before
    assert RunLogEntry.objects.count() == 3 + 2 + 1 + 4


def test_deletes_in_batches_of_separate_statements(db) -> None:
    old = [make_run(S.SUCCEEDED, days_ago=30) for _ in range(5)]
    with CaptureQueriesContext(connection) as queries:
        call_command("prune_runs", "--older-than", "2w", "--batch-size", "2", stdout=StringIO())
    assert not Run.objects.filter(pk__in=[r.pk for r in old]).exists()
    run_deletes = [q for q in queries if q["sql"].startswith('DELETE FROM "jobs_run"')]
    assert len(run_deletes) == 3  # 2 + 2 + 1


@pytest.mark.parametrize("text", ["90", "90x", "d", "0d", "-5d", "1.5d", "", "90 days"])
def test_bad_ages_are_refused(db, text: str) -> None:
    with pytest.raises(CommandError):
        call_command("prune_runs", "--older-than", text, stdout=StringIO())


def test_age_units() -> None:
    assert parse_age("12h") == timedelta(hours=12)
    assert parse_age("90d") == timedelta(days=90)
    assert parse_age("2w") == timedelta(days=14)
    assert parse_age("3D") == timedelta(days=3)


def test_hours_are_hours(db) -> None:
    eleven_hours = make_run(S.SUCCEEDED, days_ago=11 / 24)
    thirteen_hours = make_run(S.SUCCEEDED, days_ago=13 / 24)
    call_command("prune_runs", "--older-than", "12h", stdout=StringIO())
    assert remaining() == {eleven_hours.pk}
    assert not Run.objects.filter(pk=thirteen_hours.pk).exists()


def test_retention_setting_drives_the_daily_housekeeping(db, settings) -> None:
    schedule = QSchedule.objects.get(name=PRUNE_NAME)
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "jobs.retention.prune_expired_runs",
        QSchedule.MINUTES,
        24 * 60,
    )
    forty = make_run(S.SUCCEEDED, days_ago=40)
    twenty = make_run(S.FAILED, days_ago=20)

    settings.RUN_RETENTION_DAYS = 0  # the default: keep forever
    assert "off" in prune_expired_runs()
    assert remaining() == {forty.pk, twenty.pk}

    settings.RUN_RETENTION_DAYS = 30
    assert prune_expired_runs() == "Deleted 1 runs that finished more than 30 days ago."
    assert remaining() == {twenty.pk}
