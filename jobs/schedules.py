"""Schedules: cron validation, preview and description, the runner django-q2 calls, failure
counting, auto-pause and notifications. Every face (admin, pages, API, the command) calls these.

How a schedule fires
--------------------
django-q2 computes cron times in the project's TIME_ZONE only, and each schedule has its own
zone. So an active schedule owns one django-q2 schedule of type ONCE (`repeats=1`) whose
`next_run` we compute with croniter in the schedule's zone. When it fires, django-q2 sets
`repeats=0` (the row stays, inert) and queues `run_schedule(id)`, which first re-arms it at the
next cron time and then launches the job. A paused or disabled schedule has no django-q2
schedule at all, so nothing can fire it. ONCE schedules never catch up: after downtime a missed
time fires once, late, and the next time is computed from the moment it ran.

Wall-clock times and DST
------------------------
Cron times are wall-clock times in the schedule's zone. A time that does not exist (the hour
skipped when clocks go forward) runs once at the first minute after the gap; a time that occurs
twice (clocks go back) runs once, at its first occurrence. So "30 2 * * *" runs exactly once
every day of the year.

Outcomes
--------
Every run started by a schedule (scheduled or "run now") carries `Run.schedule`. When one
finishes (`run_finished`): failed adds one to `consecutive_failures`; succeeded and warning (the
data went through, with conflicts to look at) reset it to 0; cancelled by a user changes
nothing. Reaching `max_consecutive_failures` pauses an active schedule (`paused_by_failures`)
and sends one pause notice; other failures send a failure notice; successes and warnings are
e-mailed only with `notify_on_success`.

A skipped run (a run of the same job was still queued or running) is a Run row with status
`cancelled`, `stats={"skipped": true, "active_run_id": N}` and the reason in `error`; it is
shown in the history as "Skipped" and never counts as a failure or a success.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache, partial
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from cron_descriptor import ExpressionDescriptor, FormatError, MissingFieldError
from cron_descriptor import Options as CronDescriptorOptions
from croniter import CroniterBadDateError, CroniterError, croniter
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule as QSchedule

from .kinds import KINDS
from .models import Run, RunLogEntry, Schedule
from .services import TargetBusy, active_run_for, launch
from .signals import run_finished

logger = logging.getLogger(__name__)

#: The function every django-q2 schedule of ours calls (with the schedule id).
RUNNER = "jobs.schedules.run_schedule"

# --- Job types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobType:
    """Something a schedule can run: a job kind of `jobs.kinds.KINDS` applied to one object.

    `model` is resolved lazily ("app_label.Model") so a type can be listed before its app ships;
    a type is offered only once its kind is registered and its model exists.
    """

    key: str
    kind: str
    model: str
    label: str
    params: Callable[[models.Model], dict[str, Any]]
    title: Callable[[models.Model], str]

    def model_class(self) -> type[models.Model] | None:
        try:
            return apps.get_model(self.model)
        except (LookupError, ValueError):
            return None

    @property
    def available(self) -> bool:
        return self.kind in KINDS and self.model_class() is not None

    def objects(self) -> models.QuerySet:
        model = self.model_class()
        if model is None:
            raise LookupError(f"The model {self.model} of job type {self.key!r} does not exist.")
        return model._default_manager.all()

    def get_object(self, job_id: int | str | None) -> models.Model | None:
        if job_id in (None, "") or not self.available:
            return None
        try:
            return self.objects().filter(pk=job_id).first()
        except (ValueError, TypeError):
            return None


#: What a schedule can run. Adding an operation (completeness, metadata, tracker events) is one
#: entry here plus its kind in `jobs.kinds.KINDS`; the form, admin and API pick it up, e.g.
#: JobType("completeness", "completeness", "completeness.Assessment", "Completeness assessment",
#:         params=lambda a: {"assessment_id": a.pk}, title=lambda a: f"Completeness {a}"),
JOB_TYPES: dict[str, JobType] = {
    t.key: t
    for t in (
        JobType(
            key="transfer",
            kind="transfer",
            model="transfers.Transfer",
            label="Transfer",
            params=lambda obj: {"transfer_id": obj.pk, "dry_run": False},
            title=lambda obj: f"Transfer: {obj}",  # as transfers.services.start_transfer
        ),
        JobType(
            key="connection_check",
            kind="connection_check",
            model="connections.Instance",
            label="Connection check",
            params=lambda obj: {"instance_ids": [obj.pk]},
            title=lambda obj: f"Connection check: {obj}",
        ),
    )
}


def available_job_types() -> list[JobType]:
    """The job types that can be scheduled right now (kind registered, model present)."""
    return [t for t in JOB_TYPES.values() if t.available]


def job_type_choices() -> list[tuple[str, str]]:
    return [(t.key, t.label) for t in available_job_types()]


def job_type_label(key: str) -> str:
    job_type = JOB_TYPES.get(key)
    return job_type.label if job_type else key


def validate_job(job_type: str, job_id: Any) -> tuple[JobType, models.Model]:
    """Return the type and the object a schedule would run, or raise a ValidationError dict
    keyed by the field at fault (`job_type` or `job_id`)."""
    jt = JOB_TYPES.get(job_type)
    if jt is None or not jt.available:
        keys = ", ".join(k for k, _ in job_type_choices()) or "none yet"
        message = f'"{job_type}" is not a job type that can be scheduled; use one of: {keys}.'
        raise ValidationError({"job_type": message})
    obj = jt.get_object(job_id)
    if obj is None:
        raise ValidationError({"job_id": f"There is no {jt.label.lower()} with id {job_id}."})
    return jt, obj


def job_object(schedule: Schedule) -> models.Model | None:
    jt = JOB_TYPES.get(schedule.job_type)
    return jt.get_object(schedule.job_id) if jt else None


# --- Cron: validation, next times, description ------------------------------------------------

CRON_FORM = "minute hour day-of-month month day-of-week"
CRON_EXAMPLE = '"0 2 * * *" (every day at 02:00)'


def _cron_error(cron: str, problem: str) -> ValidationError:
    return ValidationError(
        f"{problem} Use the 5-field form: {CRON_FORM}, e.g. {CRON_EXAMPLE} "
        'or "*/15 * * * 1-5" (every 15 minutes on weekdays).',
        code="invalid_cron",
    )


def validate_cron(value: str) -> str:
    """Return the expression with single spaces, or raise a ValidationError that shows the form.

    Exactly five fields: croniter also accepts a seconds or a year field and "@daily" macros,
    which django-q2 and most people would read differently, so those are refused.
    """
    cron = " ".join((value or "").split())
    if not cron:
        raise _cron_error(cron, "Enter a cron expression.")
    fields = cron.split(" ")
    if len(fields) != 5:
        raise _cron_error(
            cron, f'"{cron}" has {len(fields)} field{"s" if len(fields) != 1 else ""}, not 5.'
        )
    try:
        croniter(cron)
    except CroniterError as exc:
        raise _cron_error(
            cron, f'"{cron}" is not a valid cron expression: {_bad_field(fields)}.'
        ) from exc
    try:
        croniter(cron, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise _cron_error(
            cron, f'"{cron}" never matches a date (like 30 February), so it would never run.'
        ) from exc
    return cron


_FIELD_RULES = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31 or L"),
    ("month", "1-12 or jan-dec"),
    ("day-of-week", "0-7 or sun-sat, 0 and 7 being Sunday"),
)


def _bad_field(fields: list[str]) -> str:
    """Name the first field croniter refuses on its own, with what that field accepts."""
    for i, (name, accepted) in enumerate(_FIELD_RULES):
        probe = ["*"] * 5
        probe[i] = fields[i]
        try:
            croniter(" ".join(probe))
        except CroniterError:
            return f'the {name} field "{fields[i]}" is not valid ({name} takes {accepted})'
    return "the fields do not combine into a valid expression"


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(_zone_names())]


def validate_timezone(value: str) -> str:
    """Return the IANA zone name, or raise a ValidationError."""
    if value in _zone_names():
        return value
    raise ValidationError(
        f'"{value}" is not a time zone; use an IANA name such as "Europe/Berlin", '
        '"Africa/Nairobi" or "UTC".',
        code="invalid_timezone",
    )


def validate_emails(value: str | list[str]) -> str:
    """Return the addresses comma-separated, or raise a ValidationError naming the bad one."""
    items = value if isinstance(value, list) else re.split(r"[,;\s]+", value or "")
    emails = [e.strip() for e in items if e and e.strip()]
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(
                f'"{email}" is not an e-mail address; separate addresses with commas.',
                code="invalid_email",
            ) from None
    return ", ".join(dict.fromkeys(emails))


def _is_wall_time(wall: datetime, zone: ZoneInfo) -> bool:
    """True when the naive wall-clock time exists in the zone (is not in a DST gap)."""
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def _resolve_wall_time(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant of a wall-clock time: its first occurrence, or the end of a DST gap."""
    step = wall
    for _ in range(24 * 60):
        if _is_wall_time(step, zone):
            return step.replace(tzinfo=zone, fold=0)
        step += timedelta(minutes=1)
    raise ValueError(f"No valid time near {wall} in {zone.key}.")  # no zone has such a gap


def next_runs(
    cron: str, tz: str, *, after: datetime | None = None, count: int = 5
) -> list[datetime]:
    """The next `count` times (aware, in the schedule's zone) strictly after `after` (now).

    croniter walks naive wall-clock times so that DST changes neither double nor drop a daily
    run; see the module docstring for the rule.
    """
    zone = ZoneInfo(tz)
    start = (after or timezone.now()).astimezone(zone)
    it = croniter(cron, start.replace(tzinfo=None))
    found: list[datetime] = []
    last = start
    for _ in range(count * 2000):  # a DST gap skips at most 60 per-minute times
        if len(found) >= count:
            break
        when = _resolve_wall_time(it.get_next(datetime), zone)
        # Compare instants: Python compares two datetimes of the same zone by wall clock,
        # ignoring `fold`, which is wrong inside the repeated hour.
        if when.timestamp() > last.timestamp():
            found.append(when)
            last = when
    return found


#: cron-descriptor settings: 24-hour times and English, whatever the server's locale is.
_DESCRIBE_OPTIONS = CronDescriptorOptions()
_DESCRIBE_OPTIONS.use_24hour_time_format = True
_DESCRIBE_OPTIONS.locale_code = "en_US"
_DESCRIBE_OPTIONS.verbose = False


def _days_are_ored(cron: str) -> bool:
    """True when a run happens on a matching day of the month *or* a matching day of the week.

    That is cron's rule when both day fields are restricted, and it is the rule of croniter,
    which computes our run times (its `day_or`): asked in croniter's own terms so the sentence
    can never disagree with the next runs shown beside it (`*/2`, `1-31` and `L` count as
    restricted; `?` and `*` do not).
    """
    expanded = croniter(cron).expanded
    return expanded[2][0] != "*" and expanded[4][0] != "*"


def _or_weekdays(descriptor_text: str) -> str:
    """ ", only on Monday" / ", Monday through Friday" -> "or on Monday" / "or on Monday through
    Friday": cron-descriptor says "or" only for single days and lists, not ranges or '#'."""
    text = descriptor_text.removeprefix(", ").removeprefix("only ")
    if not text.startswith(("on ", "every ")):
        text = f"on {text}"
    return f"or {text}"


def _describe_with_library(fields: list[str]) -> str:
    minute, hour, dom, month, dow = fields
    cron = " ".join(fields)
    descriptor = ExpressionDescriptor(cron, _DESCRIBE_OPTIONS)
    if not _days_are_ored(cron):
        return descriptor.get_description()
    if "#" in dow or "W" in dom.upper():
        # croniter neither ORs nor ANDs these ("1W" with a weekday ignores the weekday; "#"
        # with a day of month ignores or intersects it): no sentence would be true of both.
        return (
            f'{descriptor.get_time_of_day_description()}, when day of month "{dom}" meets day '
            f'of week "{dow}", which cron programs read differently: check the next runs'
        )
    # Both day fields restricted: say "or" for every form of the day-of-week field, and put the
    # month first, since it limits both kinds of day ("in January, on day 1 or on Monday").
    weekdays = ExpressionDescriptor(
        " ".join([minute, hour, "*", month, dow]), _DESCRIBE_OPTIONS
    ).get_day_of_week_description()
    text = (
        f"{descriptor.get_time_of_day_description()}{descriptor.get_month_description()}"
        f"{descriptor.get_day_of_month_description()}, {_or_weekdays(weekdays)}"
    )
    return descriptor.transform_verbosity(text, use_verbose_format=False)


def describe_cron(cron: str) -> str:
    """The expression in words, by cron-descriptor: "at 02:00", "every 15 minutes, Monday
    through Friday", "at 02:00, between day 1 and 7 of the month, or on Monday".

    A maintained library rather than our own describer, with one correction: when both day
    fields are restricted cron runs on either (OR), and the sentence says so in every case.
    Lower-case first, as it is also used inside sentences (pages capitalise it).
    """
    fields = cron.split()
    if len(fields) != 5:
        return f'cron "{cron}"'  # not valid (stored before validation existed): say it as is
    try:
        text = _describe_with_library(fields)
    except (FormatError, MissingFieldError, CroniterError, ValueError, IndexError, KeyError):
        return f'cron "{cron}"'
    return text[:1].lower() + text[1:]


@dataclass(frozen=True)
class Preview:
    cron: str
    timezone: str
    description: str
    next_runs: list[datetime] = field(default_factory=list)


def preview(
    cron: str, tz: str | None = None, *, count: int = 5, after: datetime | None = None
) -> Preview:
    """Validate and explain an expression; raises ValidationError keyed by `cron`/`timezone`."""
    errors: dict[str, list[str]] = {}
    try:
        cron = validate_cron(cron)
    except ValidationError as exc:
        errors["cron"] = exc.messages
    tz = tz or settings.TIME_ZONE
    try:
        tz = validate_timezone(tz)
    except ValidationError as exc:
        errors["timezone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return Preview(cron, tz, describe_cron(cron), next_runs(cron, tz, after=after, count=count))


# --- Arming the django-q2 side ----------------------------------------------------------------


def _q_name(schedule: Schedule) -> str:
    return f"dhis2sync schedule #{schedule.pk}: {schedule.name}"[:100]


def _q_fields(schedule: Schedule, when: datetime) -> dict[str, Any]:
    return {
        "name": _q_name(schedule),
        "func": RUNNER,
        "args": repr(schedule.pk),
        "kwargs": None,
        "schedule_type": QSchedule.ONCE,
        "repeats": 1,
        "next_run": when,
        "cluster": None,
    }


def disarm(schedule: Schedule) -> None:
    """Remove the django-q2 schedule(s) that could fire this one."""
    QSchedule.objects.filter(func=RUNNER, args=repr(schedule.pk)).delete()
    if schedule.q_schedule_id:
        QSchedule.objects.filter(pk=schedule.q_schedule_id).delete()
    Schedule.objects.filter(pk=schedule.pk).update(q_schedule=None, next_run=None)
    schedule.q_schedule_id, schedule.next_run = None, None


def arm(schedule: Schedule, *, now: datetime | None = None) -> Schedule:
    """Make django-q2 match the schedule: an active one fires at its next cron time, any other
    has no django-q2 schedule. Idempotent; called after every change and by the runner."""
    if schedule.status != Schedule.Status.ACTIVE or not schedule.enabled:
        disarm(schedule)
        return schedule
    when = next_runs(schedule.cron, schedule.timezone, after=now, count=1)[0]
    fields = _q_fields(schedule, when)
    q_id = schedule.q_schedule_id
    if not (q_id and QSchedule.objects.filter(pk=q_id).update(**fields)):
        q_id = QSchedule.objects.create(**fields).pk
    QSchedule.objects.filter(func=RUNNER, args=repr(schedule.pk)).exclude(pk=q_id).delete()
    Schedule.objects.filter(pk=schedule.pk).update(q_schedule=q_id, next_run=when)
    schedule.q_schedule_id, schedule.next_run = q_id, when
    return schedule


# --- Changing schedules ---------------------------------------------------------------------

#: What people edit; the runner owns status, the counter, next_run, last_run and q_schedule.
EDITABLE_FIELDS = [
    "name", "job_type", "job_id", "cron", "timezone", "enabled", "max_consecutive_failures",
    "notify_emails", "notify_on_success",
]  # fmt: skip


def save_schedule(schedule: Schedule, *, user: AbstractBaseUser | None = None) -> Schedule:
    """Create or update a schedule and (re-)arm it.

    Switching `enabled` off makes it `disabled`; switching it back on re-activates it with a
    fresh counter. Editing a schedule paused by failures leaves it paused: resuming is explicit.
    Only the editable fields are written, so an edit never undoes a pause the runner just made.
    """
    with transaction.atomic():
        if schedule.pk is None:
            schedule.status = (
                Schedule.Status.ACTIVE if schedule.enabled else Schedule.Status.DISABLED
            )
            if user is not None and user.is_authenticated:
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


def pause(schedule: Schedule, *, user: AbstractBaseUser | None = None) -> Schedule:
    """Switch a schedule off (status `disabled`) until it is resumed."""
    with transaction.atomic():
        Schedule.objects.filter(pk=schedule.pk).update(
            enabled=False, status=Schedule.Status.DISABLED
        )
        schedule.refresh_from_db()
        disarm(schedule)
    logger.info("Schedule %s paused by %s", schedule.pk, _who(user))
    return schedule


def resume(schedule: Schedule, *, user: AbstractBaseUser | None = None) -> Schedule:
    """Clear the failure counter, switch the schedule on and arm it at its next time."""
    with transaction.atomic():
        Schedule.objects.filter(pk=schedule.pk).update(
            enabled=True, status=Schedule.Status.ACTIVE, consecutive_failures=0
        )
        schedule.refresh_from_db()
        arm(schedule)
    logger.info("Schedule %s resumed by %s", schedule.pk, _who(user))
    return schedule


def _who(user: AbstractBaseUser | None) -> str:
    return user.get_username() if user is not None and user.is_authenticated else "the system"


# --- Launching ------------------------------------------------------------------------------


class ScheduleBusy(Exception):
    """A run of the schedule's job is still queued or running."""

    def __init__(self, active: Run) -> None:
        self.active = active
        super().__init__(
            f"Run #{active.pk} of the same job is still {active.status}; "
            "runs of one job never overlap."
        )


class JobMissing(Exception):
    """The object the schedule runs was deleted, or its job type is not available."""


def _job_missing_message(schedule: Schedule) -> str:
    jt = JOB_TYPES.get(schedule.job_type)
    if jt is None or not jt.available:
        return f'The job type "{schedule.job_type}" of this schedule is not available.'
    return f"The {jt.label.lower()} #{schedule.job_id} this schedule runs no longer exists."


def _launch(schedule: Schedule, *, user: AbstractBaseUser | None, trigger: str, note: str) -> Run:
    jt = JOB_TYPES[schedule.job_type]
    obj = jt.get_object(schedule.job_id)
    if obj is None:
        raise JobMissing(_job_missing_message(schedule))
    with transaction.atomic():
        run = launch(
            jt.kind, jt.params(obj), user=user, trigger=trigger, title=jt.title(obj),
            target=schedule.target,
        )  # fmt: skip
        # Linked before the transaction commits, i.e. before the task is queued.
        Run.objects.filter(pk=run.pk).update(schedule=schedule)
        run.schedule = schedule
        RunLogEntry.objects.create(run=run, message=f'Schedule "{schedule.name}": {note}.')
        Schedule.objects.filter(pk=schedule.pk).update(last_run=run)
    return run


def run_now(schedule: Schedule, *, user: AbstractBaseUser | None, trigger: str) -> Run:
    """Start the schedule's job at once (paused or not), as `user` through `trigger`.

    Raises ScheduleBusy when a run of the same job is active (nothing is recorded: the person
    asking sees the answer), JobMissing when the job is gone. The outcome counts like any run
    of the schedule.
    """
    with transaction.atomic():
        Schedule.objects.select_for_update().filter(pk=schedule.pk).first()
        active = active_run_for(schedule.target)
        if active is not None:
            raise ScheduleBusy(active)
        try:
            return _launch(schedule, user=user, trigger=trigger, note=f"run now by {_who(user)}")
        except TargetBusy as exc:  # started elsewhere (another schedule, a page) meanwhile
            raise ScheduleBusy(exc.run) from None


def _record_skipped(schedule: Schedule, active: Run) -> Run:
    jt = JOB_TYPES.get(schedule.job_type)
    now = timezone.now()
    reason = (
        f"Skipped: run #{active.pk} of the same job was still {active.status}; "
        "runs of one job never overlap."
    )
    run = Run.objects.create(
        kind=jt.kind if jt else schedule.job_type,
        title=f"{schedule.name} (skipped)"[:200],
        target=schedule.target,
        trigger=Run.Trigger.SCHEDULE,
        status=Run.Status.CANCELLED,
        schedule=schedule,
        stats={"skipped": True, "active_run_id": active.pk},
        error=reason,
        finished_at=now,
    )
    RunLogEntry.objects.create(run=run, level=RunLogEntry.Level.WARNING, message=reason)
    Schedule.objects.filter(pk=schedule.pk).update(last_run=run)
    return run


def _record_job_missing(schedule: Schedule) -> Run:
    """A failed run saying the job is gone: it counts, so the schedule pauses and says so."""
    jt = JOB_TYPES.get(schedule.job_type)
    message = _job_missing_message(schedule)
    run = Run.objects.create(
        kind=jt.kind if jt else schedule.job_type,
        title=schedule.name[:200],
        target=schedule.target,
        trigger=Run.Trigger.SCHEDULE,
        status=Run.Status.FAILED,
        schedule=schedule,
        error=message,
        finished_at=timezone.now(),
    )
    RunLogEntry.objects.create(run=run, level=RunLogEntry.Level.ERROR, message=message)
    Schedule.objects.filter(pk=schedule.pk).update(last_run=run)
    run_finished.send(sender=Run, run=run)
    return run


def _rearm(schedule_id: int) -> None:
    schedule = Schedule.objects.filter(pk=schedule_id).first()
    if schedule is not None:
        arm(schedule)


def run_schedule(schedule_id: int) -> str:
    """The function django-q2 calls when a schedule is due.

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
        except TargetBusy as exc:  # started elsewhere meanwhile: same as finding it active
            if exc.run is not None:
                _record_skipped(schedule, exc.run)
            return "skipped"
    return "launched"


# --- Outcomes and notifications -------------------------------------------------------------

Event = Literal["failed", "paused", "succeeded", "warning"]


def record_outcome(run: Run) -> None:
    """Count a finished run of a schedule (connected to `run_finished` in `jobs.models`)."""
    if run.schedule_id is None or (run.stats or {}).get("skipped"):
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
            notify(schedule, run, run.status)


def site_link(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def notification_message(schedule: Schedule, run: Run, event: Event) -> tuple[str, str]:
    """Subject and plain-text body of a notice; names the schedule, the run, status and links."""
    name = f'Schedule "{schedule.name}"'
    subject = {
        "paused": f"{name} paused after {schedule.consecutive_failures} failures",
        "failed": f"{name}: run #{run.pk} failed",
        "succeeded": f"{name}: run #{run.pk} succeeded",
        "warning": f"{name}: run #{run.pk} finished with warnings",
    }[event]
    when = describe_cron(schedule.cron)
    lines = [
        f'Schedule: {schedule.name} ({when}, cron "{schedule.cron}", {schedule.timezone})',
        f"Job: {run.title or run.kind}",
        f"Run: #{run.pk}, {run.get_status_display().lower()} ({run.status})",
    ]
    if run.started_at:
        lines.append(f"Started: {timezone.localtime(run.started_at):%Y-%m-%d %H:%M:%S %Z}")
    if run.finished_at:
        lines.append(f"Finished: {timezone.localtime(run.finished_at):%Y-%m-%d %H:%M:%S %Z}")
    if run.error:
        lines.append(f"Error: {run.error}")
    if run.stats and event != "failed":
        lines.append("Results: " + ", ".join(f"{k}={v}" for k, v in run.stats.items()))
    lines.append(
        f"Consecutive failures: {schedule.consecutive_failures} "
        f"(pauses at {schedule.max_consecutive_failures})"
    )
    lines += ["", f"Run details and log: {site_link(reverse('run-detail', args=[run.pk]))}"]
    schedule_url = site_link(reverse("schedule-detail", args=[schedule.pk]))
    if event == "paused":
        lines += [
            "",
            f"The schedule is paused and will not run again until an admin resumes it: "
            f"{schedule_url}",
        ]
    else:
        lines.append(f"Schedule: {schedule_url}")
    return f"[dhis2sync] {subject}", "\n".join(lines) + "\n"


def notify(schedule: Schedule, run: Run, event: Event) -> list[str]:
    """E-mail a notice to the schedule's recipients (or the site admins) and note it in the
    run's log. Mail problems are logged, never raised: they must not undo the bookkeeping."""
    recipients = schedule.recipients or [email for _, email in settings.ADMINS]
    if not recipients:
        RunLogEntry.objects.create(
            run=run,
            level=RunLogEntry.Level.WARNING,
            message=f"No {event} notice sent: the schedule has no e-mail addresses and "
            "ADMIN_EMAILS is empty.",
        )
        return []
    subject, body = notification_message(schedule, run, event)
    try:
        send_mail(subject, body, None, recipients, fail_silently=False)
    except Exception as exc:
        logger.exception("Could not e-mail the %s notice of run %s", event, run.pk)
        RunLogEntry.objects.create(
            run=run,
            level=RunLogEntry.Level.WARNING,
            message=f"Could not e-mail the {event} notice: {exc}",
        )
        return []
    RunLogEntry.objects.create(
        run=run, message=f"E-mailed the {event} notice to {', '.join(recipients)}."
    )
    return recipients


# --- Repair ---------------------------------------------------------------------------------


@dataclass
class RepairReport:
    in_sync: int = 0
    rebuilt: list[str] = field(default_factory=list)
    removed: int = 0


def _drift(schedule: Schedule, now: datetime) -> str:
    """Why the django-q2 side of an active schedule is wrong, or "" when it is right."""
    q = (
        QSchedule.objects.filter(pk=schedule.q_schedule_id).first()
        if schedule.q_schedule_id
        else None
    )
    if q is None:
        return "its django-q2 schedule was missing"
    if q.func != RUNNER or q.args != repr(schedule.pk) or q.schedule_type != QSchedule.ONCE:
        return "its django-q2 schedule called something else"
    if q.repeats != 1:
        return "its django-q2 schedule had fired and was not re-armed"
    if q.next_run is None:
        return "its django-q2 schedule had no next run"
    if q.next_run > now:
        expected = next_runs(schedule.cron, schedule.timezone, after=now, count=1)[0]
        if q.next_run != expected:
            return "its next run did not match the cron expression"
    if schedule.next_run != q.next_run:
        return "its next run differed from django-q2's"
    return ""


def repair_schedules(*, dry_run: bool = False, now: datetime | None = None) -> RepairReport:
    """Rebuild django-q2 schedules from ours where they drifted, and remove strays.

    A due-but-not-yet-fired time (the cluster is down or about to pick it up) is not drift:
    it fires once when the cluster runs, as documented.
    """
    now = now or timezone.now()
    report = RepairReport()
    keep: set[int] = set()
    for schedule in Schedule.objects.order_by("pk"):
        if schedule.status != Schedule.Status.ACTIVE or not schedule.enabled:
            if schedule.q_schedule_id or schedule.next_run:
                report.removed += 1
                if not dry_run:
                    disarm(schedule)
            continue
        reason = _drift(schedule, now)
        if not reason:
            report.in_sync += 1
        else:
            report.rebuilt.append(f"{schedule.name}: {reason}")
            if not dry_run:
                arm(schedule, now=now)
        if schedule.q_schedule_id:
            keep.add(schedule.q_schedule_id)
    strays = QSchedule.objects.filter(func=RUNNER).exclude(pk__in=keep)
    if dry_run:  # disarm() above already removed the inactive ones' own schedules
        strays = strays.exclude(
            pk__in=Schedule.objects.exclude(q_schedule=None).values("q_schedule")
        )
    report.removed += strays.count()
    if not dry_run:
        strays.delete()
    return report
