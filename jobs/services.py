"""Starting, cancelling and reaping runs: the single entry point for every face.

Admin actions, pages, API endpoints, schedules and the command line all call `launch()`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Required, TypedDict, TypeVar, Unpack

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.actors import Actor
from audit.services import CANCELLED, LAUNCHED, record_run_action

from .enqueue import enqueue_run
from .models import Run, RunLogEntry, Schedule
from .outcomes import record_outcome
from .registry import get_operation, target_for
from .resume import resumable_params, run_label


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
    user: Actor,
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
                # The user model's own rows only (what the foreign key takes): None and
                # AnonymousUser start runs by nobody.
                started_by=(
                    user if isinstance(user, get_user_model()) and user.is_authenticated else None
                ),
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
    record_run_action(LAUNCHED, run, user=user)
    if enqueue:
        transaction.on_commit(lambda: enqueue_run(run.pk))
    return run


class StartOptions(TypedDict, total=False):
    """The keyword arguments every face gives an operation's start function, which hands them
    on to `launch()` unchanged: who starts the run, from which face (`Run.Trigger`), the
    schedule that started it, and whether to queue it (`run_job` runs it in the foreground).

    Written once here so that every `start_<op>(obj, *, <its own options>, **start)` takes the
    same ones with the same defaults (`launch()`'s)."""

    user: Required[Actor]
    trigger: Required[str]
    schedule: Schedule | None
    enqueue: bool


def launch_on(
    kind: str, pk: int, params: dict[str, Any], *, title: str, **start: Unpack[StartOptions]
) -> Run:
    """`launch()` a run of `kind` on the object `pk`, guarded as every operation's runs are:
    one active run per object (`jobs.registry.target_for`)."""
    return launch(kind, params, title=title, target=target_for(kind, pk), **start)


class ResumableStartOptions(StartOptions, total=False):
    """What the start function of a job that checkpoints what it sent (aggregate and event
    transfers) takes besides `StartOptions`: `dry_run` (write nothing), `full` (ignore an
    incremental watermark) and `resume_of` (the stopped run to continue)."""

    dry_run: bool
    full: bool
    resume_of: Run | None


def launch_resumable(
    kind: str,
    pk: int,
    *,
    param: str,
    noun: str,
    name: str,
    dry_run: bool = False,
    full: bool = False,
    resume_of: Run | None = None,
    **start: Unpack[StartOptions],
) -> Run:
    """`launch_on()` for a resumable job: the parameters from `jobs.resume.resumable_params`
    (`param` = `pk`; a resume is checked first) and a title that says what kind of run it is.

    `noun` names the job's kind and `name` the job, as the messages show them: "transfer
    Nightly" when a run to resume is another's, "Transfer: Nightly" (or "Dry run: Nightly",
    "Resume: Nightly") as the run's title."""
    params = resumable_params(
        kind=kind,
        param=param,
        pk=pk,
        what=f"{noun} {name}",
        dry_run=dry_run,
        full=full,
        resume_of=resume_of,
    )
    label = run_label(noun.capitalize(), dry_run=dry_run, resume_of=resume_of)
    return launch_on(kind, pk, params, title=f"{label}: {name}", **start)


def active_run_for(target: str) -> Run | None:
    """The queued or running run working on `target`, if any (the overlap guard)."""
    if not target:
        return None
    return Run.objects.filter(target=target, status__in=Run.ACTIVE).order_by("created_at").first()


def _who(run: Run) -> str:
    return run.started_by.get_username() if run.started_by else "the system"


logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Waits (seconds) before retrying a run's final write when the database is briefly unavailable
#: (SQLite "database is locked", a dropped PostgreSQL connection); about 7 s in all.
FINISH_RETRY_WAITS: tuple[float, ...] = (0.5, 1.0, 2.0, 3.5)


def _retrying_db_errors(write: Callable[[], T]) -> T:
    """Run `write`, retrying it after transient database errors (`FINISH_RETRY_WAITS`).

    The final write of a run is the one that must not be lost: without it the run shows
    "running" until the stall check fails it. Before each retry an unusable connection is closed
    (Django opens a new one on the next query), unless inside a transaction, which has to be
    retried as a whole by its owner. Raises the last error when every attempt failed.
    """
    for wait in (*FINISH_RETRY_WAITS, None):
        try:
            return write()
        except (OperationalError, InterfaceError) as exc:
            if wait is None:
                raise
            logger.warning("Database error while ending a run (%s); retrying in %.1f s", exc, wait)
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
            time.sleep(wait)
    raise AssertionError("unreachable")


def finish_run(
    run: Run,
    status: str,
    *,
    error: str = "",
    stats: dict[str, Any] | None = None,
    expect: Iterable[str] = Run.ACTIVE,
    extra: Q | None = None,
    log_level: str | None = None,
) -> bool:
    """End a run: the one place a run reaches a final status.

    The update is conditional (the run must still be in one of `expect`, and match `extra`),
    so a run ends exactly once even when the task, a cancel and the stall check race; only the
    winner logs `error` and records the outcome for the schedule that started the run
    (`jobs.outcomes`). Returns whether this call ended the run. The status write is retried
    through transient database errors (`_retrying_db_errors`); if the database stays away, the
    error propagates and the stall check fails the run once the database is back.
    """
    now = timezone.now()
    fields: dict[str, Any] = {"status": status, "error": error, "finished_at": now}
    if stats is not None:
        fields["stats"] = stats
    if status in (Run.Status.SUCCEEDED, Run.Status.WARNING):
        fields.update(progress=100, progress_message="Finished", heartbeat_at=now)
    if status == Run.Status.CANCELLED:
        fields["cancel_requested"] = True
    query = Run.objects.filter(pk=run.pk, status__in=list(expect))
    if extra is not None:
        query = query.filter(extra)
    if not _retrying_db_errors(lambda: query.update(**fields)):
        return False
    if error:
        level = log_level or (
            RunLogEntry.Level.WARNING if status == Run.Status.CANCELLED else RunLogEntry.Level.ERROR
        )
        _retrying_db_errors(
            lambda: RunLogEntry.objects.create(run=run, level=level, message=error[:10000])
        )
    _retrying_db_errors(run.refresh_from_db)
    record_outcome(run)
    return True


def request_cancel(run: Run, *, user: Actor = None) -> Run:
    """Cancel a queued run at once; ask a running one to stop at its next progress report."""
    who = user.get_username() if user is not None and user.is_authenticated else "the system"
    if finish_run(
        run,
        Run.Status.CANCELLED,
        error=f"Cancelled by {who} before it started.",
        expect=[Run.Status.QUEUED],
    ):
        record_run_action(CANCELLED, run, user=user)
        return run
    if Run.objects.filter(pk=run.pk, status=Run.Status.RUNNING).update(cancel_requested=True):
        record_run_action(CANCELLED, run, user=user)
        RunLogEntry.objects.create(
            run=run,
            level=RunLogEntry.Level.WARNING,
            message=f"Cancellation requested by {who}; the run stops at its next step.",
        )
    run.refresh_from_db()
    return run


def fail_stalled_runs(*, now: datetime | None = None) -> int:
    """Fail running runs whose worker stopped beating (killed, out of memory, machine restart)."""
    now = now or timezone.now()
    limit = now - timedelta(seconds=settings.RUN_STALL_SECONDS)
    message = (
        "The worker stopped responding (no heartbeat for more than "
        f"{settings.RUN_STALL_SECONDS} seconds); the run was marked as failed."
    )
    count = 0
    for run in Run.objects.filter(status=Run.Status.RUNNING, heartbeat_at__lt=limit):
        if finish_run(
            run,
            Run.Status.FAILED,
            error=message,
            expect=[Run.Status.RUNNING],
            extra=Q(heartbeat_at__lt=limit),
        ):
            count += 1
    return count
