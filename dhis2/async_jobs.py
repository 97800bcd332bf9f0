"""Waiting for asynchronous DHIS2 imports (`?async=true`, and the new tracker importer).

Classic jobs (DATAVALUE_IMPORT, METADATA_IMPORT, EVENT_IMPORT, ...):

1. `GET /api/system/tasks/<TYPE>/<id>`: notifications, newest first. Right after the start the
   list can be `[]` (recorded on 2.44-dev); done when an entry has `completed: true`.
2. `GET /api/system/taskSummaries/<TYPE>/<id>`: the bare summary, but **HTTP 200 with an empty
   body until the job has finished** (SystemController#getTaskSummaryJson), so poll again.

Tracker jobs: `GET /api/tracker/jobs/<id>` (same notification list), then
`GET /api/tracker/jobs/<id>/report`, which answers **404 until the report exists**.

Notifications and summaries live in the server's memory: they are lost on restart and must be
read as the user who started the job.

Polling waits `poll_interval` seconds between requests, multiplied by `backoff` after each wait up
to `max_poll_interval` (default: no growth), never sleeping past the deadline; `on_poll` is
called once per status/report request so callers can count them (`jobs_polled`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import Dhis2Error, Dhis2Timeout, JobFailed, UnexpectedResponse
from .imports import TRACKER_JOB_TYPE, JobReference

if TYPE_CHECKING:
    from .client import Client

__all__ = ["completed_notification", "wait_for_job", "wait_for_task", "wait_for_tracker_job"]

logger = logging.getLogger("dhis2.async_jobs")

ProgressCallback = Callable[[dict[str, Any]], None]
PollCallback = Callable[[], None]


def completed_notification(notifications: Any) -> dict[str, Any] | None:
    """The newest notification with `completed: true`, or None while the job runs."""
    if isinstance(notifications, dict):
        notifications = [notifications]
    if not isinstance(notifications, list):
        raise UnexpectedResponse(
            f"DHIS2 job notifications should be a list, got {type(notifications).__name__}."
        )
    for note in notifications:
        if isinstance(note, dict) and note.get("completed") is True:
            return note
    return None


class _Deadline:
    def __init__(self, timeout: float, clock: Callable[[], float], what: str, url: str) -> None:
        self.clock = clock
        self.end = clock() + timeout
        self.timeout = timeout
        self.what = what
        self.url = url

    def remaining(self) -> float:
        return max(0.0, self.end - self.clock())

    def check(self, stage: str) -> None:
        if self.clock() >= self.end:
            raise Dhis2Timeout(
                f"DHIS2 job {self.what} did not {stage} within {self.timeout:g} s. It may still "
                "be running on the server: check it in DHIS2 (Data Administration → Scheduler, "
                "or the import/export app's job overview) before starting it again.",
                url=self.url,
                retryable=False,
            )


class _Pacer:
    """Waits between polls: a growing interval (`backoff` ≥ 1, capped), never past the deadline,
    and counts every poll for `on_poll`. With the defaults it waits `poll_interval` each time."""

    def __init__(
        self,
        poll_interval: float,
        sleep: Callable[[float], None],
        deadline: _Deadline,
        *,
        backoff: float = 1.0,
        max_poll_interval: float | None = None,
        on_poll: PollCallback | None = None,
    ) -> None:
        self.interval = poll_interval
        self.sleep_fn = sleep
        self.deadline = deadline
        self.backoff = max(1.0, backoff)
        self.max_interval = max_poll_interval if max_poll_interval is not None else poll_interval
        self.on_poll = on_poll

    def polled(self) -> None:
        if self.on_poll is not None:
            self.on_poll()

    def sleep(self) -> None:
        wait = self.interval
        if self.backoff > 1.0:
            wait = min(wait, max(self.deadline.remaining(), 0.0)) or wait
            self.interval = min(self.interval * self.backoff, max(self.max_interval, 0.0))
        self.sleep_fn(wait)


def _poll_notifications(
    client: Client,
    path: str,
    deadline: _Deadline,
    poll_interval: float | _Pacer,
    sleep: Callable[[float], None],
    on_progress: ProgressCallback | None,
) -> dict[str, Any]:
    pacer = (
        poll_interval
        if isinstance(poll_interval, _Pacer)
        else _Pacer(poll_interval, sleep, deadline)
    )
    while True:
        pacer.polled()
        notifications = client.get_json(path)
        if notifications is None:
            notifications = []
        done = completed_notification(notifications)
        if on_progress is not None and notifications:
            newest = notifications[0] if isinstance(notifications, list) else notifications
            if isinstance(newest, dict):
                on_progress(newest)
        if done is not None:
            return done
        deadline.check("finish")
        pacer.sleep()


def _failed(what: str, note: dict[str, Any], url: str, summary: Any) -> JobFailed:
    return JobFailed(
        f"DHIS2 job {what} failed: {note.get('message') or 'no message'}. Check the data or "
        "metadata it imported, and the DHIS2 server log if the message does not say enough.",
        url=url,
        summary=summary,
    )


def wait_for_task(
    client: Client,
    job_type: str,
    job_id: str,
    *,
    poll_interval: float = 2.0,
    timeout: float = 3600,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Wait for a classic async job and return its summary body (bare, never wrapped).

    Raises `JobFailed` when the completing notification has level ERROR (its `summary` holds the
    summary if DHIS2 still produced one) and `Dhis2Timeout` naming the job after `timeout`.
    """
    job_type = job_type.upper()
    what = f"{job_type} {job_id}"
    tasks_path = f"system/tasks/{job_type}/{job_id}"
    summary_path = f"system/taskSummaries/{job_type}/{job_id}"
    deadline = _Deadline(timeout, clock, what, client.api_url(tasks_path))

    done = _poll_notifications(client, tasks_path, deadline, poll_interval, sleep, on_progress)
    if str(done.get("level", "")).upper() == "ERROR":
        summary = None
        try:
            summary = client.get_json(summary_path)
        except Dhis2Error as exc:  # the failure itself is what matters
            logger.info("No summary for failed DHIS2 job %s: %s", what, exc)
        raise _failed(what, done, client.api_url(tasks_path), summary)

    while True:
        summary = client.get_json(summary_path)
        if summary is not None:
            return summary
        deadline.check("deliver its summary")
        sleep(poll_interval)


def wait_for_tracker_job(
    client: Client,
    job_id: str,
    *,
    poll_interval: float = 2.0,
    timeout: float = 3600,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: ProgressCallback | None = None,
    report_mode: str = "ERRORS",
    clock: Callable[[], float] = time.monotonic,
    backoff: float = 1.0,
    max_poll_interval: float | None = None,
    on_poll: PollCallback | None = None,
) -> dict[str, Any]:
    """Wait for a tracker import job and return its ImportReport body.

    `reportMode=ERRORS` keeps the report small (only failing objects are listed). A 404 on the
    report means "not written yet" (2.40: `JobConfiguration with id … could not be found`, 2.42:
    `Summary for job … does not exist`) and is polled again until the deadline.
    """
    what = f"{TRACKER_JOB_TYPE} {job_id}"
    jobs_path = f"tracker/jobs/{job_id}"
    report_path = f"tracker/jobs/{job_id}/report"
    deadline = _Deadline(timeout, clock, what, client.api_url(jobs_path))
    pacer = _Pacer(
        poll_interval,
        sleep,
        deadline,
        backoff=backoff,
        max_poll_interval=max_poll_interval,
        on_poll=on_poll,
    )

    done = _poll_notifications(client, jobs_path, deadline, pacer, sleep, on_progress)
    failed = str(done.get("level", "")).upper() == "ERROR"
    while True:
        pacer.polled()
        response = client.request(
            "GET", report_path, params={"reportMode": report_mode}, ok_statuses=(404,)
        )
        if response.status_code != 404 and isinstance(response.body, dict):
            if failed:
                raise _failed(what, done, client.api_url(jobs_path), response.body)
            return response.body
        if failed:
            raise _failed(what, done, client.api_url(jobs_path), None)
        deadline.check("deliver its report")
        pacer.sleep()


def wait_for_job(client: Client, job: JobReference, **kwargs: Any) -> Any:
    """Wait for a job started by an async import, whichever kind (`parse_job_reference`)."""
    if job.is_tracker:
        return wait_for_tracker_job(client, job.id, **kwargs)
    return wait_for_task(client, job.job_type, job.id, **kwargs)
