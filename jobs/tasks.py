"""The django-q2 task that executes a run, and housekeeping tasks."""

from __future__ import annotations

import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.utils import timezone

from .context import RunAborted, RunCancelled, RunContext
from .logcontext import current_run_id
from .models import Run, RunLogEntry
from .registry import get_operation
from .services import finish_run

logger = logging.getLogger(__name__)


def _readable(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OperationalError | InterfaceError):
        return (
            f"The platform's database failed during the run ({text or type(exc).__name__}); "
            "resume the run once the database is available again."
        )
    if not text:
        return f"Unexpected error ({type(exc).__name__}); see the server log for details."
    return text


def execute_run(run_id: int) -> str:
    """Claim a queued run (pending -> running, once), run its handler, record the outcome.

    Returns the final status. Exceptions never escape: django-q2 in sync mode swallows them and
    in a worker they would only reach the task table, so the Run row is the one record.
    """
    now = timezone.now()
    claimed = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
        status=Run.Status.RUNNING, started_at=now, heartbeat_at=now
    )
    if not claimed:
        logger.info("Run %s was not queued any more (claimed or cancelled); skipping.", run_id)
        return Run.objects.filter(pk=run_id).values_list("status", flat=True).first() or "missing"
    run = Run.objects.get(pk=run_id)
    token = current_run_id.set(run_id)  # every log line of the run carries its id
    try:
        return _execute(run)
    finally:
        current_run_id.reset(token)


def _execute(run: Run) -> str:
    run_id = run.pk
    status, error = Run.Status.SUCCEEDED, ""
    ctx: RunContext | None = None
    try:
        ctx = RunContext(run)
        if run.cancel_requested:
            raise RunCancelled()
        handler = get_operation(run.kind).handler()
        outcome = handler(ctx)
        if outcome in (Run.Status.WARNING, Run.Status.SUCCEEDED):
            status = Run.Status(outcome)
    except RunCancelled:
        status = Run.Status.CANCELLED
        _log(run_id, "warning", "Cancelled at the user's request.")
    except RunAborted as exc:
        logger.warning("Run %s stopped: %s", run_id, exc)
        return Run.objects.filter(pk=run_id).values_list("status", flat=True).first() or "missing"
    except Exception as exc:
        status, error = Run.Status.FAILED, _readable(exc)
        logger.exception("Run %s (%s) failed", run_id, run.kind)
    stats = ctx.stats if ctx is not None else run.stats
    try:
        ended = finish_run(run, status, error=error, stats=stats, expect=[Run.Status.RUNNING])
    except DatabaseError:
        # The database stayed away through finish_run's retries: the run's heartbeat has
        # stopped, so the stall check fails it once the database is back.
        logger.exception("Run %s finished as %s but could not be recorded", run_id, status)
        return Run.Status.RUNNING
    if not ended:
        # Failed by the stall check meanwhile: that outcome was already recorded once.
        logger.warning("Run %s finished as %s but was no longer running.", run_id, status)
        return Run.objects.filter(pk=run_id).values_list("status", flat=True).first() or "missing"
    return run.status


def _log(run_id: int, level: str, message: str) -> None:
    try:
        RunLogEntry.objects.create(run_id=run_id, level=level, message=message[:10000])
    except Exception:  # the database itself may be the problem
        logger.exception("Could not write to the log of run %s", run_id)


def fail_stalled_runs() -> int:
    """Mark running runs whose heartbeat is older than RUN_STALL_SECONDS as failed."""
    from .services import fail_stalled_runs as _fail

    return _fail()


def repair_schedules() -> str:
    """Housekeeping: rebuild django-q2 schedules that drifted from ours (see sync_schedules)."""
    from .qschedules import repair_schedules as _repair

    return str(_repair())
