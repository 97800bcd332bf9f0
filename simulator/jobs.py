"""Asynchronous jobs and their notifications (``/api/system/tasks``, ``/api/tracker/jobs``).

A job runs ``delay`` seconds after submission on a timer thread. Until it has run, the task
list is ``[]`` (as recorded on a 2.44-dev server right after start) and the task summary is an
empty 200 body (``SystemController#getTaskSummaryJson``); afterwards the notifications are
listed newest first and the summary holds the bare import summary/report.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulator.builder import random_uid
from simulator.state import fmt_metadata_ts, now_utc


@dataclass
class Job:
    id: str
    job_type: str
    created: str
    notifications: list[dict[str, Any]] = field(default_factory=list)
    summary: Any = None
    done: bool = False
    timer: threading.Timer | None = None


class JobStore:
    def __init__(self, seed: int = 0, clock: Callable[[], datetime] = now_utc) -> None:
        """``clock`` is the simulator's (job and notification times come from the server)."""
        self._clock = clock
        self._lock = threading.Lock()
        self._rng = random.Random(f"jobs-{seed}")
        self.jobs: dict[str, Job] = {}

    def new_uid(self) -> str:
        with self._lock:
            return random_uid(self._rng)

    def submit(
        self,
        job_type: str,
        run: Callable[[], tuple[Any, list[tuple[str, str, bool, dict[str, Any] | None]]]],
        delay: float,
        with_id: bool = True,
    ) -> Job:
        """Schedule ``run``; it returns the summary and the notifications, oldest first, as
        ``(level, message, completed, extra)``."""
        job = Job(id=self.new_uid(), job_type=job_type, created=fmt_metadata_ts(self._clock()))
        with self._lock:
            self.jobs[job.id] = job

        def execute() -> None:
            summary, notes = run()
            start = self._clock()
            rendered = []
            for i, (level, message, completed, extra) in enumerate(notes):
                uid = self.new_uid()
                note: dict[str, Any] = {
                    "uid": uid,
                    "level": level,
                    "category": job_type,
                    "time": fmt_metadata_ts(start + timedelta(milliseconds=i)),
                    "message": message,
                    "completed": completed,
                }
                if extra:
                    note.update(extra)
                if with_id:
                    note["id"] = uid
                rendered.append(note)
            with self._lock:
                job.summary = summary
                job.notifications = list(reversed(rendered))
                job.done = True

        if delay <= 0:
            execute()
        else:
            job.timer = threading.Timer(delay, execute)
            job.timer.daemon = True
            job.timer.start()
        return job

    def get(self, job_id: str, job_type: str | None = None) -> Job | None:
        with self._lock:
            job = self.jobs.get(job_id)
        if job is None or (job_type is not None and job.job_type != job_type):
            return None
        return job

    def cancel_all(self) -> None:
        with self._lock:
            for job in self.jobs.values():
                if job.timer is not None:
                    job.timer.cancel()
            self.jobs.clear()
