"""Schedules: arming django-q2, the runner (overlap guard), failure counting, auto-pause,
resume, run now, notifications and the repair command.

Schedules run the real "transfer" job against two in-process DHIS2 simulators
(`tests.jobs.handlers`); a test decides how a run ends through what the destination answers
(django-q2 runs in sync mode: a launched run executes on commit).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule as QSchedule

from jobs import cron, notifications, qschedules, schedules
from jobs.models import Run, RunLogEntry, Schedule
from jobs.schedules import RUNNER, run_schedule
from jobs.services import Busy, request_cancel
from tests.jobs.handlers import Dhis2
from transfers.models import Transfer


def q_of(schedule: Schedule) -> QSchedule | None:
    return QSchedule.objects.filter(func=RUNNER, args=repr(schedule.pk)).first()


# --- owning the django-q2 schedule -------------------------------------------------------------


def test_saving_arms_one_django_q_schedule_at_the_next_cron_time(nightly: Schedule) -> None:
    q = q_of(nightly)
    assert q is not None and nightly.q_schedule_id == q.pk
    assert q.schedule_type == QSchedule.ONCE and q.repeats == 1
    expected = cron.next_runs("0 2 * * *", "Europe/Berlin", count=1)[0]
    assert q.next_run == expected == nightly.next_run
    assert q.next_run > timezone.now()
    assert nightly.status == Schedule.Status.ACTIVE
    assert nightly.created_by.username == "alice"


def test_editing_rearms_and_disabling_removes_the_django_q_schedule(nightly: Schedule) -> None:
    nightly.cron = "*/10 * * * *"
    schedules.save_schedule(nightly)
    assert q_of(nightly).next_run == nightly.next_run
    assert nightly.next_run - timezone.now() <= timedelta(minutes=10)

    nightly.enabled = False
    schedules.save_schedule(nightly)
    assert nightly.status == Schedule.Status.DISABLED
    assert q_of(nightly) is None and nightly.next_run is None and nightly.q_schedule_id is None

    Schedule.objects.filter(pk=nightly.pk).update(consecutive_failures=2)
    nightly.enabled = True
    schedules.save_schedule(nightly)
    assert nightly.status == Schedule.Status.ACTIVE and nightly.consecutive_failures == 0
    assert q_of(nightly) is not None


def test_an_edit_does_not_undo_a_pause_by_failures(nightly: Schedule) -> None:
    stale = Schedule.objects.get(pk=nightly.pk)  # a form loaded before the pause
    Schedule.objects.filter(pk=nightly.pk).update(
        status=Schedule.Status.PAUSED_BY_FAILURES, consecutive_failures=3
    )
    stale.name = "Nightly HMIS (renamed)"
    schedules.save_schedule(stale)
    assert stale.status == Schedule.Status.PAUSED_BY_FAILURES
    assert stale.consecutive_failures == 3
    assert q_of(stale) is None


def test_deleting_removes_the_django_q_schedule_and_keeps_the_runs(nightly: Schedule, fire) -> None:
    fire(nightly)
    schedules.delete_schedule(nightly)
    assert not QSchedule.objects.filter(func=RUNNER).exists()
    assert Run.objects.get().schedule is None


# --- the runner ------------------------------------------------------------------------------


def test_due_schedule_launches_a_normal_run_with_trigger_schedule(
    nightly: Schedule, transfer: Transfer, fire
) -> None:
    before = nightly.next_run
    assert fire(nightly) == "launched"
    run = Run.objects.get()
    assert run.trigger == Run.Trigger.SCHEDULE and run.started_by is None
    assert run.schedule == nightly and nightly.last_run == run
    assert run.target == f"transfer:{transfer.pk}"
    assert run.params == {"transfer_id": transfer.pk, "dry_run": False}
    assert run.title == "Transfer: Monthly RCH"
    assert run.stats["imported"] > 0  # the data reached the destination
    assert run.status == Run.Status.SUCCEEDED
    assert any('Schedule "Nightly HMIS": due at cron' in e.message for e in run.log_entries.all())
    q = q_of(nightly)
    assert q.repeats == 1 and q.next_run == nightly.next_run >= before


def test_django_q_scheduler_fires_the_runner_and_it_rearms(
    nightly: Schedule, django_capture_on_commit_callbacks
) -> None:
    from django_q.scheduler import scheduler

    QSchedule.objects.filter(pk=nightly.q_schedule_id).update(
        next_run=timezone.now() - timedelta(seconds=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        scheduler()
    run = Run.objects.get()
    assert run.schedule_id == nightly.pk and run.status == Run.Status.SUCCEEDED
    q = QSchedule.objects.get(pk=nightly.q_schedule_id)
    # django-q2 set repeats=0 when it fired; the runner re-armed it after django-q2 saved.
    assert q.repeats == 1 and q.next_run > timezone.now()


def test_overlap_is_skipped_and_recorded_with_the_reason(
    nightly: Schedule, transfer: Transfer, fire
) -> None:
    busy = Run.objects.create(
        kind="transfer", trigger="web", status="running", target=f"transfer:{transfer.pk}"
    )
    assert fire(nightly) == "skipped"
    skipped = Run.objects.exclude(pk=busy.pk).get()
    assert skipped.status == Run.Status.SKIPPED
    assert skipped.stats == {"active_run_id": busy.pk}
    assert f"run #{busy.pk} of the same job was still running" in skipped.error
    assert skipped.schedule == nightly and nightly.last_run == skipped
    assert skipped.log_entries.filter(level="warning").exists()
    assert nightly.consecutive_failures == 0 and mail.outbox == []
    assert q_of(nightly).repeats == 1  # still armed for the next time


def test_failures_count_then_pause_once_with_a_notice(
    nightly: Schedule, fire, dhis2: Dhis2
) -> None:
    dhis2.will_end("failed")
    fire(nightly)
    assert nightly.consecutive_failures == 1 and nightly.status == Schedule.Status.ACTIVE
    assert [m.subject for m in mail.outbox] == [
        f'[dhis2sync] Schedule "Nightly HMIS": run #{nightly.last_run_id} failed'
    ]
    fire(nightly)
    fire(nightly)
    assert nightly.consecutive_failures == 3
    assert nightly.status == Schedule.Status.PAUSED_BY_FAILURES
    assert q_of(nightly) is None and nightly.next_run is None
    assert len(mail.outbox) == 3
    assert mail.outbox[-1].subject == '[dhis2sync] Schedule "Nightly HMIS" paused after 3 failures'
    # Paused: a late django-q2 firing does nothing.
    assert fire(nightly) == "inactive"
    assert Run.objects.count() == 3 and len(mail.outbox) == 3


def test_success_and_warning_reset_the_counter_without_mail(
    nightly: Schedule, fire, dhis2: Dhis2
) -> None:
    dhis2.will_end("failed")
    fire(nightly)
    fire(nightly)
    dhis2.will_end("warning")
    fire(nightly)
    assert nightly.consecutive_failures == 0 and nightly.status == Schedule.Status.ACTIVE
    dhis2.will_end("succeeded")
    fire(nightly)
    assert nightly.consecutive_failures == 0
    assert len(mail.outbox) == 2  # the two failures only


def test_success_notice_when_asked(nightly: Schedule, fire, dhis2: Dhis2) -> None:
    Schedule.objects.filter(pk=nightly.pk).update(notify_on_success=True)
    fire(nightly)
    dhis2.will_end("warning")
    fire(nightly)
    subjects = [m.subject for m in mail.outbox]
    assert subjects[0].endswith("succeeded") and subjects[1].endswith("finished with warnings")


def test_a_run_cancelled_by_a_user_does_not_count(nightly: Schedule) -> None:
    Schedule.objects.filter(pk=nightly.pk).update(consecutive_failures=2)
    run = schedules.run_now(nightly, user=None, trigger=Run.Trigger.WEB)  # queued, not executed
    request_cancel(run)
    nightly.refresh_from_db()
    assert nightly.consecutive_failures == 2 and mail.outbox == []


def test_resume_clears_the_counter_and_rearms(nightly: Schedule, fire, dhis2: Dhis2) -> None:
    Schedule.objects.filter(pk=nightly.pk).update(max_consecutive_failures=1)
    dhis2.will_end("failed")
    fire(nightly)
    assert nightly.status == Schedule.Status.PAUSED_BY_FAILURES
    schedules.resume(nightly)
    assert nightly.status == Schedule.Status.ACTIVE and nightly.consecutive_failures == 0
    assert nightly.enabled and q_of(nightly).next_run == nightly.next_run > timezone.now()


def test_pause_disables_and_removes_the_django_q_schedule(nightly: Schedule) -> None:
    schedules.pause(nightly)
    assert nightly.status == Schedule.Status.DISABLED and not nightly.enabled
    assert q_of(nightly) is None and nightly.next_run is None


def test_deleted_job_fails_the_run_and_counts(nightly: Schedule, transfer: Transfer, fire) -> None:
    transfer.delete()
    assert fire(nightly) == "job_missing"
    run = Run.objects.get()
    assert run.status == Run.Status.FAILED and run.schedule == nightly
    assert f"transfer #{nightly.job_id} this schedule runs no longer exists" in run.error
    assert nightly.consecutive_failures == 1 and len(mail.outbox) == 1


def test_runner_for_a_deleted_schedule_removes_its_django_q_schedule(db) -> None:
    QSchedule.objects.create(func=RUNNER, args="999", schedule_type=QSchedule.ONCE, repeats=1)
    assert run_schedule(999) == "missing"
    assert not QSchedule.objects.filter(func=RUNNER).exists()


# --- run now ---------------------------------------------------------------------------------


def test_run_now_records_the_user_and_counts(
    nightly: Schedule, bob: User, django_capture_on_commit_callbacks
) -> None:
    Schedule.objects.filter(pk=nightly.pk).update(consecutive_failures=2)
    with django_capture_on_commit_callbacks(execute=True):
        run = schedules.run_now(nightly, user=bob, trigger=Run.Trigger.WEB)
    run.refresh_from_db()
    nightly.refresh_from_db()
    assert run.trigger == Run.Trigger.WEB and run.started_by == bob and run.schedule == nightly
    assert run.status == Run.Status.SUCCEEDED and nightly.consecutive_failures == 0
    assert nightly.last_run == run


def test_run_now_refuses_to_overlap_and_records_nothing(nightly: Schedule) -> None:
    first = schedules.run_now(nightly, user=None, trigger=Run.Trigger.API)  # stays queued
    with pytest.raises(Busy, match=f"already queued as run #{first.pk}"):
        schedules.run_now(nightly, user=None, trigger=Run.Trigger.API)
    assert Run.objects.count() == 1


def test_run_now_works_while_paused(nightly: Schedule) -> None:
    schedules.pause(nightly)
    run = schedules.run_now(nightly, user=None, trigger=Run.Trigger.ADMIN)
    assert run.schedule == nightly and run.status == Run.Status.QUEUED


# --- notifications ---------------------------------------------------------------------------


def test_pause_notice_names_schedule_run_status_error_and_links(
    nightly: Schedule, fire, settings, dhis2: Dhis2
) -> None:
    settings.SITE_URL = "https://sync.example.org/"
    Schedule.objects.filter(pk=nightly.pk).update(max_consecutive_failures=1)
    dhis2.will_end("failed")
    fire(nightly)
    (message,) = mail.outbox
    run = nightly.last_run
    assert message.to == ["ops@example.org"]
    assert message.subject == '[dhis2sync] Schedule "Nightly HMIS" paused after 1 failures'
    body = message.body
    # The wording of the cron description is tested in test_schedules_cron.py.
    assert "Schedule: Nightly HMIS (" in body and "02:00" in body and "Europe/Berlin" in body
    assert f"Run: #{run.pk}, failed (failed)" in body
    assert "Error: The destination did not accept data after" in body
    assert f"https://sync.example.org{reverse('run-detail', args=[run.pk])}" in body
    assert f"https://sync.example.org/schedules/{nightly.pk}/" in body
    assert "will not run again until an admin resumes it" in body
    assert run.log_entries.filter(message="E-mailed the paused notice to ops@example.org.").exists()


def test_notice_links_to_the_run_page(nightly: Schedule, fire, dhis2: Dhis2) -> None:
    dhis2.will_end("failed")
    fire(nightly)
    assert f"/runs/{nightly.last_run_id}/" in mail.outbox[0].body


def test_notices_go_to_the_admins_when_the_schedule_has_no_addresses(
    nightly: Schedule, fire, settings, dhis2: Dhis2
) -> None:
    settings.ADMINS = [("Admin", "admin@example.org")]
    Schedule.objects.filter(pk=nightly.pk).update(notify_emails="")
    dhis2.will_end("failed")
    fire(nightly)
    assert mail.outbox[0].to == ["admin@example.org"]


def test_without_any_recipient_the_run_log_says_so(
    nightly: Schedule, fire, settings, dhis2: Dhis2
) -> None:
    settings.ADMINS = []
    Schedule.objects.filter(pk=nightly.pk).update(notify_emails="")
    dhis2.will_end("failed")
    fire(nightly)
    assert mail.outbox == []
    assert nightly.last_run.log_entries.filter(message__startswith="No failed notice sent").exists()


def test_a_mail_failure_is_logged_and_the_pause_still_happens(
    nightly: Schedule, fire, monkeypatch, dhis2: Dhis2
) -> None:
    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP server at mail.example.org:587 refused the connection")

    monkeypatch.setattr(notifications, "send_mail", broken)
    Schedule.objects.filter(pk=nightly.pk).update(max_consecutive_failures=1)
    dhis2.will_end("failed")
    fire(nightly)
    assert nightly.status == Schedule.Status.PAUSED_BY_FAILURES
    entry = RunLogEntry.objects.get(message__startswith="Could not e-mail")
    assert "refused the connection" in entry.message


# --- repair ----------------------------------------------------------------------------------


def test_sync_schedules_rebuilds_drift_and_removes_strays(nightly: Schedule, capsys) -> None:
    other = schedules.save_schedule(
        Schedule(name="Hourly", job_type="transfer", job_id=nightly.job_id, cron="0 * * * *")
    )
    QSchedule.objects.filter(pk=nightly.q_schedule_id).delete()  # deleted by hand
    QSchedule.objects.filter(pk=other.q_schedule_id).update(repeats=0)  # fired, runner lost
    QSchedule.objects.create(func=RUNNER, args="4242", schedule_type=QSchedule.ONCE)

    with pytest.raises(CommandError, match="2 would rebuild, 1 stray"):
        call_command("sync_schedules", "--check")
    call_command("sync_schedules")
    out = capsys.readouterr().out
    assert "rebuilt: Nightly HMIS: its django-q2 schedule was missing" in out
    assert "rebuilt: Hourly: its django-q2 schedule had fired and was not re-armed" in out
    assert "0 in sync, 2 rebuilt, 1 stray django-q2 schedule(s) removed." in out

    for schedule in (nightly, other):
        schedule.refresh_from_db()
        q = q_of(schedule)
        assert q.pk == schedule.q_schedule_id and q.repeats == 1
        assert q.next_run == schedule.next_run > timezone.now()
    assert QSchedule.objects.filter(func=RUNNER).count() == 2
    call_command("sync_schedules", "--check")
    assert "2 in sync, 0 would rebuild" in capsys.readouterr().out


def test_sync_schedules_fixes_a_next_run_that_does_not_match_the_cron(nightly: Schedule) -> None:
    QSchedule.objects.filter(pk=nightly.q_schedule_id).update(
        next_run=timezone.now() + timedelta(days=30)
    )
    report = qschedules.repair_schedules()
    assert report.rebuilt == ["Nightly HMIS: its next run did not match the cron expression"]
    assert q_of(nightly).next_run - timezone.now() < timedelta(days=1, hours=1)


def test_sync_schedules_removes_the_django_q_schedule_of_a_paused_one(nightly: Schedule) -> None:
    Schedule.objects.filter(pk=nightly.pk).update(status=Schedule.Status.PAUSED_BY_FAILURES)
    report = qschedules.repair_schedules()
    assert report.removed == 1 and q_of(nightly) is None
