"""Runs end to end through the real job kinds; only DHIS2 is simulated (`tests.jobs.handlers`)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jobs import services
from jobs.models import Run
from jobs.tasks import execute_run
from tests.jobs.handlers import Dhis2
from transfers.services import start_transfer


def check(*instance_ids: int, user=None) -> Run:
    return services.launch(
        "connection_check", {"instance_ids": list(instance_ids)}, user=user, trigger="web"
    )


def test_launch_saves_the_run_before_queueing(
    dhis2: Dhis2, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = check(dhis2.source_instance.pk)
    assert Run.objects.get(pk=run.pk).status == Run.Status.QUEUED
    assert len(callbacks) == 1  # the task is queued only once the transaction commits


def test_run_succeeds_with_log_stats_and_progress(
    alice, dhis2: Dhis2, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = check(dhis2.source_instance.pk, user=alice)
    run.refresh_from_db()
    assert run.status == Run.Status.SUCCEEDED
    assert run.progress == 100
    assert run.stats == {"checked": 1, "failed": 0}
    assert run.started_by == alice
    assert run.started_at and run.finished_at and run.finished_at >= run.started_at
    assert run.duration_seconds is not None
    messages = [e.message for e in run.log_entries.all()]
    assert messages[0].startswith("Queued by alice")
    assert any(m.startswith("Source HMIS: Connected to") for m in messages)


def test_a_run_can_end_with_warning(dhis2: Dhis2, django_capture_on_commit_callbacks) -> None:
    dhis2.wrong_password(dhis2.destination_instance)
    with django_capture_on_commit_callbacks(execute=True):
        run = check(dhis2.source_instance.pk, dhis2.destination_instance.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.WARNING
    assert run.stats == {"checked": 2, "failed": 1}
    assert run.log_entries.filter(level="error", message__startswith="National HMIS:").exists()


def test_exception_becomes_failed_with_readable_message(
    dhis2: Dhis2, django_capture_on_commit_callbacks, caplog
) -> None:
    dhis2.will_end("failed")
    with django_capture_on_commit_callbacks(execute=True):
        run = start_transfer(dhis2.transfer, user=None, trigger="web")
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.error.startswith("The destination did not accept data after")
    assert "Traceback" not in run.error
    assert run.log_entries.filter(level="error", message=run.error).count() == 1  # ended once
    assert "Traceback" in caplog.text  # the traceback goes to the server log only


def test_cancel_is_honoured_while_the_run_works(
    dhis2: Dhis2, django_capture_on_commit_callbacks
) -> None:
    def user_cancels(request: httpx.Request) -> None:
        if request.url.path.endswith("/api/me"):  # while the first instance is being checked
            services.request_cancel(Run.objects.get())

    dhis2.hooks.append(user_cancels)
    with django_capture_on_commit_callbacks(execute=True):
        run = check(dhis2.source_instance.pk, dhis2.destination_instance.pk)
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    me_calls = [c for c in dhis2.router.calls if c.request.url.path.endswith("/api/me")]
    assert len(me_calls) == 1  # the second instance was never checked
    assert run.log_entries.filter(message__startswith="Cancellation requested").exists()


def test_cancel_of_queued_run_is_immediate_and_worker_skips_it(
    dhis2: Dhis2, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        run = check(dhis2.source_instance.pk)
    services.request_cancel(run)
    assert run.status == Run.Status.CANCELLED
    assert execute_run(run.pk) == Run.Status.CANCELLED
    run.refresh_from_db()
    assert run.started_at is None
    assert dhis2.router.calls.call_count == 0


def test_a_run_is_claimed_once(dhis2: Dhis2, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        run = check(dhis2.source_instance.pk)
    first_log, first_calls = run.log_entries.count(), dhis2.router.calls.call_count
    assert execute_run(run.pk) == Run.Status.SUCCEEDED  # second delivery: nothing runs again
    assert run.log_entries.count() == first_log
    assert dhis2.router.calls.call_count == first_calls


def test_stalled_run_is_failed(db, settings) -> None:
    settings.RUN_STALL_SECONDS = 60
    old = timezone.now() - timedelta(seconds=120)
    stalled = Run.objects.create(kind="transfer", trigger="web", status="running", heartbeat_at=old)
    alive = Run.objects.create(
        kind="transfer", trigger="web", status="running", heartbeat_at=timezone.now()
    )
    assert services.fail_stalled_runs() == 1
    stalled.refresh_from_db()
    alive.refresh_from_db()
    assert stalled.status == Run.Status.FAILED
    assert "worker stopped responding" in stalled.error
    assert alive.status == Run.Status.RUNNING


def test_unknown_kind_is_refused(db) -> None:
    with pytest.raises(ValueError, match="Unknown job kind"):
        services.launch("no_such_kind", {}, user=None, trigger="web")


def test_run_job_command_runs_a_new_cli_run(dhis2: Dhis2, capsys) -> None:
    params = f'{{"instance_ids": [{dhis2.source_instance.pk}]}}'
    call_command("run_job", "--kind", "connection_check", "--params", params)
    run = Run.objects.get()
    assert run.trigger == Run.Trigger.CLI
    assert run.status == Run.Status.SUCCEEDED
    assert "Source HMIS: Connected to" in capsys.readouterr().out


def test_run_job_command_reports_failure(dhis2: Dhis2) -> None:
    dhis2.wrong_password(dhis2.source_instance)
    params = f'{{"instance_ids": [{dhis2.source_instance.pk}]}}'
    with pytest.raises(CommandError, match="None of the 1 instances answered correctly"):
        call_command("run_job", "--kind", "connection_check", "--params", params)


def test_run_job_refuses_finished_run(db) -> None:
    run = Run.objects.create(kind="transfer", trigger="web", status="succeeded")
    with pytest.raises(CommandError, match="only queued runs"):
        call_command("run_job", str(run.pk))
