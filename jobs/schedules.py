"""The schedule service: save, delete, pause, resume, run now, and the runner django-q2 calls.
Every face (admin, pages, API, the `sync_schedules` command) calls these.

A schedule runs one job of an operation of `jobs.registry` (its `job_type` is the operation's
key, `job_id` the object's id) through that operation's start function, like every other face.
The pieces around it live in their own modules: `jobs.cron` (validation, next times, preview,
description), `jobs.qschedules` (the django-q2 side: arm, disarm, repair), `jobs.outcomes`
(failure counting and auto-pause when a run finishes) and `jobs.notifications` (e-mail).

A skipped run (a run of the same job was still queued or running when the schedule fired) is a
Run with status `skipped` and the reason in `error`; it never counts as a failure or a success.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django_q.models import Schedule as QSchedule

from accounts.actors import Actor

from .models import Run, RunLogEntry, Schedule
from .qschedules import RUNNER, arm, disarm
from .registry import OPERATIONS, Operation, job_type_choices, schedulable_operations
from .services import Busy, active_run_for, finish_run

logger = logging.getLogger(__name__)

#: The overlap error of schedules is the one of every operation.
ScheduleBusy = Busy

# --- Job types: the schedulable operations of the registry ------------------------------------


def job_type_label(key: str) -> str:
    op = OPERATIONS.get(key)
    return op.label if op else key


def validate_job(job_type: str, job_id: Any) -> tuple[Operation, models.Model]:
    """Return the operation and the object a schedule would run, or raise a ValidationError
    dict keyed by the field at fault (`job_type` or `job_id`)."""
    op = OPERATIONS.get(job_type)
    if op is None or op not in schedulable_operations():
        keys = ", ".join(k for k, _ in job_type_choices()) or "none yet"
        message = f'"{job_type}" is not a job type that can be scheduled; use one of: {keys}.'
        raise ValidationError({"job_type": message})
    obj = op.get_object(job_id)
    if obj is None:
        raise ValidationError({"job_id": f"There is no {op.label.lower()} with id {job_id}."})
    return op, obj


def job_object(schedule: Schedule) -> models.Model | None:
    op = OPERATIONS.get(schedule.job_type)
    return op.get_object(schedule.job_id) if op else None


# --- Changing schedules ---------------------------------------------------------------------

#: What people edit; the runner owns status, the counter, next_run, last_run and q_schedule.
EDITABLE_FIELDS = [
    "name", "job_type", "job_id", "cron", "timezone", "enabled", "max_consecutive_failures",
    "notify_emails", "notify_on_success",
]  # fmt: skip


def save_schedule(schedule: Schedule, *, user: Actor = None) -> Schedule:
    """Create or update a schedule and (re-)arm it.

    Switching `enabled` off makes it `disabled`; switching it back on re-activates it with a
    fresh counter. Editing a schedule paused by failures leaves it paused: resuming is explicit.
    Only the editable fields are written, so an edit never undoes a pause the runner just made.
    """
    # django-stubs types `pk` as the saved row's int, but an unsaved schedule has None.
    pk: int | None = schedule.pk
    with transaction.atomic():
        if pk is None:
            schedule.status = (
                Schedule.Status.ACTIVE if schedule.enabled else Schedule.Status.DISABLED
            )
            if isinstance(user, get_user_model()) and user.is_authenticated:
                schedule.created_by = user
            schedule.save()
        else:
            schedule.save(update_fields=[*EDITABLE_FIELDS, "updated_at"])
            current = Schedule.objects.select_for_update().get(pk=schedule.pk)
            if not current.enabled:
                current.status = Schedule.Status.DISABLED
            elif current.status == Schedule.Status.DISABLED:
                current.status, current.consecutive_failures = Schedule.Status.ACTIVE, 0
            Schedule.objects.filter(pk=current.pk).update(
                status=current.status, consecutive_failures=current.consecutive_failures
            )
            schedule.refresh_from_db()
        return arm(schedule)


def delete_schedule(schedule: Schedule) -> None:
    """Delete a schedule with its django-q2 schedule; its runs stay (unlinked) in the history."""
    with transaction.atomic():
        disarm(schedule)
        schedule.delete()


def pause(schedule: Schedule, *, user: Actor = None) -> Schedule:
    """Switch a schedule off (status `disabled`) until it is resumed."""
    with transaction.atomic():
        schedule = _switch(schedule, enabled=False, status=Schedule.Status.DISABLED)
        disarm(schedule)
    logger.info("Schedule %s paused by %s", schedule.pk, _who(user))
    return schedule


def resume(schedule: Schedule, *, user: Actor = None) -> Schedule:
    """Clear the failure counter, switch the schedule on and arm it at its next time."""
    with transaction.atomic():
        schedule = _switch(
            schedule, enabled=True, status=Schedule.Status.ACTIVE, consecutive_failures=0
        )
        arm(schedule)
    logger.info("Schedule %s resumed by %s", schedule.pk, _who(user))
    return schedule


def _switch(schedule: Schedule, **fields: Any) -> Schedule:
    """Set the pause/resume fields on the locked, freshly read row and save just those, with
    `save(update_fields=...)` rather than a queryset update: the audit log then records who
    switched the schedule (`enabled`, `status`), and a run finishing at the same moment keeps
    the fields it writes itself (`last_run`)."""
    schedule.refresh_from_db(from_queryset=Schedule.objects.select_for_update())
    for name, value in fields.items():
        setattr(schedule, name, value)
    schedule.save(update_fields=[*fields, "updated_at"])
    return schedule


def _who(user: Actor) -> str:
    return user.get_username() if user is not None and user.is_authenticated else "the system"


# --- Launching ------------------------------------------------------------------------------


class JobMissing(Exception):
    """The object the schedule runs was deleted, or its operation is not available."""


def _job_missing_message(schedule: Schedule) -> str:
    op = OPERATIONS.get(schedule.job_type)
    if op is None or not op.available:
        return f'The job type "{schedule.job_type}" of this schedule is not available.'
    return f"The {op.label.lower()} #{schedule.job_id} this schedule runs no longer exists."


def _launch(schedule: Schedule, *, user: Actor, trigger: str, note: str) -> Run:
    """Start the schedule's job through its operation's start function (raises Busy)."""
    op = OPERATIONS.get(schedule.job_type)
    obj = job_object(schedule)
    if op is None or obj is None:
        raise JobMissing(_job_missing_message(schedule))
    with transaction.atomic():
        run = op.start_run(obj, user=user, trigger=trigger, schedule=schedule)
        RunLogEntry.objects.create(run=run, message=f'Schedule "{schedule.name}": {note}.')
        Schedule.objects.filter(pk=schedule.pk).update(last_run=run)
    return run


def run_now(schedule: Schedule, *, user: Actor, trigger: str) -> Run:
    """Start the schedule's job at once (paused or not), as `user` through `trigger`.

    Raises Busy when a run of the same job is active (nothing is recorded: the person asking
    sees the answer), JobMissing when the job is gone. The outcome counts like any run of the
    schedule.
    """
    with transaction.atomic():
        Schedule.objects.select_for_update().filter(pk=schedule.pk).first()
        return _launch(schedule, user=user, trigger=trigger, note=f"run now by {_who(user)}")


def _record_skipped(schedule: Schedule, active: Run) -> Run:
    """A run that did not start because a run of the same job was active: status `skipped`."""
    op = OPERATIONS.get(schedule.job_type)
    reason = (
        f"Skipped: run #{active.pk} of the same job was still {active.status}; "
        "runs of one job never overlap."
    )
    run = Run.objects.create(
        kind=op.key if op else schedule.job_type,
        title=f"{schedule.name} (skipped)"[:200],
        target=schedule.target,
        trigger=Run.Trigger.SCHEDULE,
        status=Run.Status.SKIPPED,
        schedule=schedule,
        stats={"active_run_id": active.pk},
        error=reason,
        finished_at=timezone.now(),
    )
    RunLogEntry.objects.create(run=run, level=RunLogEntry.Level.WARNING, message=reason)
    Schedule.objects.filter(pk=schedule.pk).update(last_run=run)
    return run


def _record_job_missing(schedule: Schedule) -> Run:
    """A failed run saying the job is gone: it counts, so the schedule pauses and says so."""
    op = OPERATIONS.get(schedule.job_type)
    run = Run.objects.create(
        kind=op.key if op else schedule.job_type,
        title=schedule.name[:200],
        trigger=Run.Trigger.SCHEDULE,
        schedule=schedule,
    )
    Schedule.objects.filter(pk=schedule.pk).update(last_run=run)
    finish_run(run, Run.Status.FAILED, error=_job_missing_message(schedule))
    return run


def _rearm(schedule_id: int) -> None:
    schedule = Schedule.objects.filter(pk=schedule_id).first()
    if schedule is not None:
        arm(schedule)


def run_schedule(schedule_id: int) -> str:
    """The function django-q2 calls when a schedule is due (`jobs.qschedules.RUNNER`).

    Re-arms first (so a failure below never stops the schedule), then skips with a recorded
    reason if a run of the same job is active, else launches the job (trigger `schedule`).
    Returns what happened: launched, skipped, job_missing, inactive or missing.
    """
    schedule = Schedule.objects.filter(pk=schedule_id).first()
    if schedule is None:
        QSchedule.objects.filter(func=RUNNER, args=repr(schedule_id)).delete()
        logger.warning("Schedule %s no longer exists; removed its django-q2 schedule.", schedule_id)
        return "missing"
    if schedule.status != Schedule.Status.ACTIVE or not schedule.enabled:
        disarm(schedule)
        return "inactive"
    # Re-arm before anything else, so nothing below can stop the schedule, and on commit: in
    # django-q2's sync mode this runs inside the scheduler's transaction, whose own save of the
    # fired schedule would otherwise overwrite the new time. Outside a transaction it runs now.
    transaction.on_commit(partial(_rearm, schedule.pk))
    if job_object(schedule) is None:
        _record_job_missing(schedule)
        return "job_missing"
    with transaction.atomic():
        Schedule.objects.select_for_update().filter(pk=schedule.pk).first()
        active = active_run_for(schedule.target)
        if active is not None:
            _record_skipped(schedule, active)
            return "skipped"
        try:
            _launch(
                schedule,
                user=None,
                trigger=Run.Trigger.SCHEDULE,
                note=f'due at cron "{schedule.cron}" ({schedule.timezone})',
            )
        except Busy as exc:  # started elsewhere meanwhile: same as finding it active
            if exc.run is not None:
                _record_skipped(schedule, exc.run)
            return "skipped"
    return "launched"
