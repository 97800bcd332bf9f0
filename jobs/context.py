"""What a running job sees: its parameters, a log, progress reporting, stats and cancellation.

Progress reports double as the heartbeat and as the cancellation check, so a handler that reports
progress regularly is both watched for stalls and stoppable.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db.models import F
from django.utils import timezone

from .models import Run, RunLogEntry

logger = logging.getLogger("jobs.run")

#: Progress writes closer together than this are coalesced (the last one is always written).
PROGRESS_WRITE_INTERVAL = 0.5


#: Heartbeats closer together than this are skipped (a busy handler beats very often).
HEARTBEAT_INTERVAL = 15.0

#: A coalesced progress report looks for a cancel request at most this often. Every written
#: report (at most every PROGRESS_WRITE_INTERVAL, and always the final one at 100 %) looks too,
#: inside its own UPDATE, so cancelling costs no query of its own on a busy run.
CANCEL_CHECK_INTERVAL = 1.0


class RunCancelled(Exception):
    """Raised inside a handler at its next progress report after a user asked to cancel."""


class RunAborted(Exception):
    """The run is no longer `running` in the database (the stall check failed it, or it was
    removed): the handler must stop, because its outcome can no longer be recorded and another
    run of the same job may already have started."""


class RunContext:
    def __init__(self, run: Run) -> None:
        self.run_id = run.pk
        self.kind = run.kind
        self.params: dict[str, Any] = dict(run.params or {})
        self.user_id = run.started_by_id
        self.trigger = run.trigger
        self.started_at = run.started_at
        self.stats: dict[str, Any] = dict(run.stats or {})
        self._last_write = 0.0
        self._last_beat = self._last_cancel_check = time.monotonic()
        self._progress = run.progress

    # --- log --------------------------------------------------------------------------------
    def log(self, level: str, message: str) -> None:
        """Append a line to the run's live log (and the server log). Never pass secrets here."""
        RunLogEntry.objects.create(run_id=self.run_id, level=level, message=message[:10000])
        logger.log(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO),
            "run %s: %s",
            self.run_id,
            message,
            extra={"run_id": self.run_id},
        )

    def debug(self, message: str) -> None:
        self.log(RunLogEntry.Level.DEBUG, message)

    def info(self, message: str) -> None:
        self.log(RunLogEntry.Level.INFO, message)

    def warning(self, message: str) -> None:
        self.log(RunLogEntry.Level.WARNING, message)

    def error(self, message: str) -> None:
        self.log(RunLogEntry.Level.ERROR, message)

    # --- stats ------------------------------------------------------------------------------
    def incr(self, **counts: int) -> None:
        for key, value in counts.items():
            self.stats[key] = self.stats.get(key, 0) + value

    # --- progress, heartbeat, cancellation ---------------------------------------------------
    def progress(self, percent: float, message: str = "", *, force: bool = False) -> None:
        """Record progress (0-100) and stats, beat the heart, and raise RunCancelled if asked.

        A handler may report thousands of times: writes are coalesced (the final report, at
        100 %, is always written) and a coalesced report looks for a cancel request at most
        every CANCEL_CHECK_INTERVAL seconds, so a cancel is honoured within about a second."""
        self._progress = max(0, min(100, int(percent)))
        now = time.monotonic()
        if not force and percent < 100 and now - self._last_write < PROGRESS_WRITE_INTERVAL:
            if now - self._last_cancel_check >= CANCEL_CHECK_INTERVAL:
                self.check_cancelled()
            return
        self._last_write = self._last_beat = now
        fields: dict[str, Any] = {
            "progress": self._progress,
            "heartbeat_at": timezone.now(),
            "stats": self.stats,
        }
        if message:
            fields["progress_message"] = message[:200]
        self._update_running(**fields)

    def heartbeat(self, *, force: bool = False) -> None:
        """Tell the stall check this run is alive (at most every HEARTBEAT_INTERVAL seconds)."""
        now = time.monotonic()
        if not force and now - self._last_beat < HEARTBEAT_INTERVAL:
            return
        self._last_beat = now
        self._update_running(heartbeat_at=timezone.now())

    def _update_running(self, **fields: Any) -> None:
        """Write `fields` while the run is running and not asked to stop; one UPDATE that is
        also the cancel check. Raises RunCancelled or RunAborted when it matched nothing."""
        self._last_cancel_check = time.monotonic()
        query = Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING)
        if query.filter(cancel_requested=False).update(**fields):
            return
        if query.filter(cancel_requested=True).exists():
            query.update(**fields)  # still record the last progress of a cancelled run
            raise RunCancelled()
        raise RunAborted(
            f"Run #{self.run_id} is no longer running (it was marked failed or removed); stopping."
        )

    def check_cancelled(self) -> None:
        """Raise RunCancelled if a cancel was requested (one primary-key lookup)."""
        self._last_cancel_check = time.monotonic()
        if Run.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            raise RunCancelled()

    def save_stats(self) -> None:
        Run.objects.filter(pk=self.run_id).update(stats=self.stats)

    def set_param(self, key: str, value: Any) -> None:
        """Persist a parameter discovered while running (e.g. a resolved period list)."""
        self.params[key] = value
        Run.objects.filter(pk=self.run_id).update(params=self.params)

    @staticmethod
    def bump(run_id: int, field: str, by: int = 1) -> None:
        Run.objects.filter(pk=run_id).update(**{field: F(field) + by})
