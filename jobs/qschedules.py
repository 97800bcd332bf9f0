"""The seam to django-q2's own schedules: arm, disarm and repair.

This is the only module that touches `django_q.models.Schedule` for our schedules, as
`jobs.enqueue` is the only one that touches the queue.

How a schedule fires
--------------------
django-q2 computes cron times in the project's TIME_ZONE only, and each schedule has its own
zone. So an active schedule owns one django-q2 schedule of type ONCE (`repeats=1`) whose
`next_run` we compute with croniter in the schedule's zone (`jobs.cron.next_runs`). When it
fires, django-q2 sets `repeats=0` (the row stays, inert) and queues `RUNNER(id)`
(`jobs.schedules.run_schedule`), which first re-arms it at the next cron time and then launches
the job. A paused or disabled schedule has no django-q2 schedule at all, so nothing can fire
it. ONCE schedules never catch up: after downtime a missed time fires once, late, and the next
time is computed from the moment it ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone
from django_q.models import Schedule as QSchedule

from .cron import next_runs
from .models import Schedule

#: The function every django-q2 schedule of ours calls (with the schedule id). Stored in
#: django-q2's table, so it must keep naming the runner's real place.
RUNNER = "jobs.schedules.run_schedule"


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


# --- Housekeeping -----------------------------------------------------------------------------

STALL_CHECK_NAME = "dhis2sync: fail stalled runs"
REPAIR_NAME = "dhis2sync: repair schedules"
PRUNE_NAME = "dhis2sync: prune old runs"


def ensure_housekeeping() -> None:
    """Keep the housekeeping django-q2 schedules (idempotent; run after every `migrate`).

    Every minute the stall check fails runs whose worker stopped beating, so a killed worker's
    run is failed within RUN_STALL_SECONDS plus a minute, and a heartbeat task proves a live
    worker to /readyz (`config.health`); every 10 minutes our schedules whose django-q2
    counterpart drifted are re-armed (a lost runner task would otherwise stop them); once a day
    old runs are pruned by RUN_RETENTION_DAYS (a no-op while it is 0).
    """
    from config.health import WORKER_HEARTBEAT_FUNC, WORKER_HEARTBEAT_NAME

    for name, func, minutes in (
        (STALL_CHECK_NAME, "jobs.tasks.fail_stalled_runs", 1),
        (REPAIR_NAME, "jobs.tasks.repair_schedules", 10),
        (WORKER_HEARTBEAT_NAME, WORKER_HEARTBEAT_FUNC, 1),
        (PRUNE_NAME, "jobs.retention.prune_expired_runs", 24 * 60),
    ):
        QSchedule.objects.update_or_create(
            name=name,
            defaults={
                "func": func,
                "schedule_type": QSchedule.MINUTES,
                "minutes": minutes,
                "repeats": -1,
            },
        )
