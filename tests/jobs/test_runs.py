from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jobs import services
from jobs.kinds import KINDS, JobKind
from jobs.models import Run
from jobs.signals import run_finished
from jobs.tasks import execute_run


@pytest.fixture(autouse=True)
def test_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ok", "warn", "boom", "cancelled_midway"):
        monkeypatch.setitem(
            KINDS, f"test_{name}", JobKind(f"test_{name}", name, f"tests.jobs.handlers.{name}")
        )


def launch(kind: str, user=None, **params):
    return services.launch(kind, params, user=user, trigger=Run.Trigger.WEB)


def test_launch_saves_the_run_before_queueing(db, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = launch("test_ok")
    assert Run.objects.get(pk=run.pk).status == Run.Status.QUEUED
    assert len(callbacks) == 1  # the task is queued only once the transaction commits


def test_run_succeeds_with_log_stats_and_progress(
    alice, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = launch("test_ok", user=alice, name="team")
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run.progress == 100
    assert run.stats == {"items": 3}
    assert run.started_by == alice
    assert run.started_at and run.finished_at and run.finished_at >= run.started_at
    assert run.duration_seconds is not None
    messages = [e.message for e in run.log_entries.all()]
    assert messages[0].startswith("Queued by alice")
    assert "hello team" in messages


def test_handler_can_end_with_warning(db, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = launch("test_warn")
    run.refresh_from_db()
    assert run.status == Run.Status.WARNING


def test_exception_becomes_failed_with_readable_message(
    db, django_capture_on_commit_callbacks, caplog
) -> None:
    finished = []

    def receiver(sender, run, **kwargs) -> None:
        finished.append(run.status)

    run_finished.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run = launch("test_boom")
    finally:
        run_finished.disconnect(receiver)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error == "The destination refused the data set: it does not exist."
    assert "Traceback" not in run.error
    assert run.log_entries.filter(level="error", message=run.error).exists()
    assert "Traceback" in caplog.text  # the traceback goes to the server log only
    assert finished == [Run.Status.FAILED]


def test_cancel_is_honoured_at_next_progress_report(db, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = launch("test_cancelled_midway")
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    assert run.stats["steps"] == 4
    assert run.progress == 30


def test_cancel_of_queued_run_is_immediate_and_worker_skips_it(
    db, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        run = launch("test_ok")
    services.request_cancel(run)
    assert run.status == Run.Status.CANCELLED
    assert execute_run(run.pk) == Run.Status.CANCELLED
    run.refresh_from_db()
    assert run.started_at is None


def test_a_run_is_claimed_once(db, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = launch("test_ok")
    first_log = run.log_entries.count()
    assert execute_run(run.pk) == Run.Status.SUCCEEDED  # second delivery: nothing runs again
    assert run.log_entries.count() == first_log


def test_stalled_run_is_failed(db, settings) -> None:
    settings.RUN_STALL_SECONDS = 60
    old = timezone.now() - timedelta(seconds=120)
    stalled = Run.objects.create(kind="test_ok", trigger="web", status="running", heartbeat_at=old)
    alive = Run.objects.create(
        kind="test_ok", trigger="web", status="running", heartbeat_at=timezone.now()
    )
    assert services.fail_stalled_runs() == 1
    stalled.refresh_from_db()
    alive.refresh_from_db()
    assert stalled.status == Run.Status.FAILED
    assert "worker stopped responding" in stalled.error
    assert alive.status == Run.Status.RUNNING


def test_unknown_kind_is_refused(db) -> None:
    with pytest.raises(ValueError, match="Unknown job kind"):
        launch("no_such_kind")


def test_run_job_command_runs_a_new_cli_run(db, capsys) -> None:
    call_command("run_job", "--kind", "test_ok", "--params", '{"name": "cli"}')
    run = Run.objects.get()
    assert run.trigger == Run.Trigger.CLI
    assert run.status == Run.Status.SUCCEEDED
    assert "hello cli" in capsys.readouterr().out


def test_run_job_command_reports_failure(db) -> None:
    with pytest.raises(CommandError, match="refused the data set"):
        call_command("run_job", "--kind", "test_boom")


def test_run_job_refuses_finished_run(db) -> None:
    run = Run.objects.create(kind="test_ok", trigger="web", status="succeeded")
    with pytest.raises(CommandError, match="only queued runs"):
        call_command("run_job", str(run.pk))
