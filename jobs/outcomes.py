"""What a finished run means for the schedule that started it: failure counting, auto-pause
and notices. Called by `jobs.services.finish_run`, the one place a run ends.

Failed adds one to `consecutive_failures`; succeeded and warning (the data went through, with
conflicts to look at) reset it to 0; cancelled by a user and skipped change nothing. Reaching
`max_consecutive_failures` pauses an active schedule (`paused_by_failures`) and sends one pause
notice; other failures send a failure notice; successes and warnings are e-mailed only with
`notify_on_success`.
"""

from __future__ import annotations

from django.db.models import F

from .models import Run, RunLogEntry, Schedule
from .notifications import notify
from .qschedules import disarm


def record_outcome(run: Run) -> None:
    """Count a finished run of a schedule."""
    if run.schedule_id is None or run.status == Run.Status.SKIPPED:
        return
    schedule = Schedule.objects.filter(pk=run.schedule_id).first()
    if schedule is None:
        return
    if run.status == Run.Status.FAILED:
        Schedule.objects.filter(pk=schedule.pk).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        schedule.refresh_from_db()
        if schedule.consecutive_failures >= schedule.max_consecutive_failures and (
            Schedule.objects.filter(pk=schedule.pk, status=Schedule.Status.ACTIVE).update(
                status=Schedule.Status.PAUSED_BY_FAILURES
            )
        ):  # the conditional update makes the pause (and its notice) happen once
            schedule.refresh_from_db()
            disarm(schedule)
            RunLogEntry.objects.create(
                run=run,
                level=RunLogEntry.Level.WARNING,
                message=f'Schedule "{schedule.name}" paused after '
                f"{schedule.consecutive_failures} failures in a row.",
            )
            notify(schedule, run, "paused")
        else:
            notify(schedule, run, "failed")
    elif run.status in (Run.Status.SUCCEEDED, Run.Status.WARNING):
        Schedule.objects.filter(pk=schedule.pk).update(consecutive_failures=0)
        if schedule.notify_on_success:
            notify(schedule, run, "succeeded" if run.status == Run.Status.SUCCEEDED else "warning")
