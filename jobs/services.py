"""Starting, cancelling and reaping runs: the single entry point for every face.

Admin actions, pages, API endpoints, schedules and the command line all call `launch()`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from .enqueue import enqueue_run
from .models import Run, RunLogEntry
from .registry import get_operation
from .signals import run_finished


class Busy(Exception):
    """A run of the same job (same target) is already queued or running.

    The one overlap error of every operation: `run` (also `active`) is the active run, and
    `body()` is the 409 answer every API endpoint gives for it.
    """

    def __init__(self, run: Run | None, target: str = "") -> None:
        self.run = run
        self.target = target
        if run is not None:
            message = (
                f"{run.title or target} is already {run.status} as run #{run.pk}; "
                "wait for it to finish or cancel it (runs of one job never overlap)."
            )
        else:
            message = f"{target} is already being run; runs of one job never overlap."
        super().__init__(message)

    @property
    def active(self) -> Run | None:
        return self.run

    def body(self) -> dict[str, Any]:
        """The 409 body: `run` and `active_run` both name the active run."""
        pk = self.run.pk if self.run is not None else None
        return {"detail": str(self), "run": pk, "active_run": pk}


#: The name earlier code used; the same class.
TargetBusy = Busy


def launch(
    kind: str,
    params: dict[str, Any] | None = None,
    *,
    user: AbstractBaseUser | None,
    trigger: str,
    title: str = "",
    target: str = "",
    schedule: Any = None,
    enqueue: bool = True,
) -> Run:
    """Save a queued run and queue its task once the surrounding transaction commits.

    `params` must be JSON-serialisable ids and options, never secrets: they are stored on the run
    and shown to every user who can see it. `target` ("transfer:5", see
    `jobs.registry.target_for`) is the overlap guard: while a run of the same target is queued
    or running, `Busy` is raised and nothing is saved (a database constraint settles races).
    `schedule` links the run to the schedule that started it, before its task is queued.
    `enqueue=False` leaves the run for the caller to execute in the foreground (`run_job`).
    """
    job_kind = get_operation(kind)
    if trigger not in Run.Trigger.values:
        raise ValueError(f"Unknown trigger {trigger!r}.")
    if params is not None and not isinstance(params, dict):
        raise ValueError("Run parameters must be a JSON object (names and values).")
    if target and (active := active_run_for(target)) is not None:
        raise Busy(active, target)
    try:
        with transaction.atomic():
            run = Run.objects.create(
                kind=job_kind.key,
                title=(title or job_kind.label)[:200],
                target=target,
                trigger=trigger,
                started_by=user if user is not None and user.is_authenticated else None,
                params=params or {},
                schedule=schedule,
            )
    except IntegrityError:
        if target and (active := active_run_for(target)) is not None:
            raise Busy(active, target) from None
        raise
    RunLogEntry.objects.create(
        run=run,
        message=f"Queued by {_who(run)} ({run.get_trigger_display().lower()}).",
    )
    if enqueue:
        transaction.on_commit(lambda: enqueue_run(run.pk))
    return run


def active_run_for(target: str) -> Run | None:
    """The queued or running run working on `target`, if any (the overlap guard)."""
    if not target:
        return None
    return Run.objects.filter(target=target, status__in=Run.ACTIVE).order_by("created_at").first()


def _who(run: Run) -> str:
    return run.started_by.get_username() if run.started_by else "the system"


def request_cancel(run: Run, *, user: AbstractBaseUser | None = None) -> Run:
    """Cancel a queued run at once; ask a running one to stop at its next progress report."""
    who = user.get_username() if user is not None and user.is_authenticated else "the system"
    now = timezone.now()
    if Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(
        status=Run.Status.CANCELLED, cancel_requested=True, finished_at=now
    ):
        RunLogEntry.objects.create(
            run=run,
            level=RunLogEntry.Level.WARNING,
            message=f"Cancelled by {who} before it started.",
        )
        run.refresh_from_db()
        run_finished.send(sender=Run, run=run)
        return run
    if Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(cancel_requested=True):
        RunLogEntry.objects.create(
            run=run,
            level=RunLogEntry.Level.WARNING,
            message=f"Cancellation requested by {who}; the run stops at its next step.",
        )
    run.refresh_from_db()
    return run


def fail_stalled_runs(*, now=None) -> int:
    """Fail running runs whose worker stopped beating (killed, out of memory, machine restart)."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.RUN_STALL_SECONDS)
    stalled = list(Run.objects.filter(status=Run.Status.RUNNING, heartbeat_at__lt=limit))
    count = 0
    for run in stalled:
        message = (
            "The worker stopped responding (no heartbeat for more than "
            f"{settings.RUN_STALL_SECONDS} seconds); the run was marked as failed."
        )
        if Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING, heartbeat_at__lt=limit).update(
            status=Run.Status.FAILED, error=message, finished_at=now
        ):
            RunLogEntry.objects.create(run=run, level=RunLogEntry.Level.ERROR, message=message)
            run.refresh_from_db()
            run_finished.send(sender=Run, run=run)
            count += 1
    return count
