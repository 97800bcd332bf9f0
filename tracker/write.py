"""Writing batches of events to the destination, through whichever API its version has.

New tracker (`TrackerWriter`, 2.39+): `POST /api/tracker?async=true` with `{"events": [...]}`,
`importStrategy=CREATE_AND_UPDATE` (a rerun updates, never duplicates), `atomicMode=OBJECT` (one
bad event does not block the others), `importMode=VALIDATE` for a dry run. The answer is
"Tracker job added" with a job id: the job is polled (`dhis2.async_jobs.wait_for_tracker_job`,
bounded, with backoff, 404 on the report = not ready yet) and its ImportReport read. A server
that answers the POST with the report itself (`async=false` behaviour, 409 on ERROR) is read the
same way.

Legacy (`LegacyWriter`, 2.36-2.38): `POST /api/events` with `{"events": [...]}`,
`importStrategy=CREATE_AND_UPDATE`, `dryRun=true` for a dry run; synchronous, the ImportSummaries
come back bare with 200 (≤2.37) or wrapped in a WebMessage with 200/409 (2.38+).

Transient failures (network, 502/503, 429) are retried by `dhis2.Client`; other 4xx are
raised at once as `BatchFailed`, and so is a job that failed or never finished.

A 504, 413 or read timeout on the POST means the body was too big or too slow for DHIS2 or its
proxy (nginx's `client_max_body_size`, `proxy_read_timeout`): sending the same body again cannot
help, so it is not retried but raised as `BatchTooLarge`, and `send_in_parts` posts the batch in
halves, down to single events, as `transfers.sending` does for data values. Events keep their
UIDs under CREATE_AND_UPDATE, so a half that DHIS2 did store before the proxy gave up is only
updated when sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from dhis2.async_jobs import wait_for_tracker_job
from dhis2.errors import (
    Dhis2Error,
    Dhis2Timeout,
    JobFailed,
    PayloadTooLarge,
    ServerError,
    UnexpectedResponse,
)
from dhis2.imports import (
    LegacyEventImportSummaries,
    TrackerImportReport,
    is_job_reference,
    parse_job_reference,
    parse_legacy_event_summaries,
    parse_tracker_import_report,
)

from .read import LEGACY, TRACKER, events_api_for

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = [
    "BatchFailed",
    "BatchResult",
    "BatchTooLarge",
    "EventError",
    "LegacyWriter",
    "Polling",
    "TrackerWriter",
    "send_in_parts",
    "writer_for",
]

#: Retried as they are: 504 is not, it is split (module docstring).
POST_RETRY_STATUSES = (429, 502, 503)

_Answer = TypeVar("_Answer")


@dataclass
class EventError:
    """One problem DHIS2 reported, for one event when it named one (`code` like `E1011`)."""

    event: str | None
    code: str | None
    message: str
    object: str | None = None
    org_unit: str | None = None


@dataclass
class BatchResult:
    """What the destination did with one batch."""

    sent: int
    created: int = 0
    updated: int = 0
    deleted: int = 0
    ignored: int = 0
    errors: list[EventError] = field(default_factory=list)
    jobs_polled: int = 0
    status: str = "OK"

    @property
    def accepted(self) -> bool:
        """Every event of the batch was stored (or would be, in a dry run: VALIDATE reports
        nothing created, so only the absence of errors counts)."""
        return not self.errors

    @property
    def failed_events(self) -> list[str]:
        return list(dict.fromkeys(e.event for e in self.errors if e.event))


class BatchFailed(Exception):
    """The destination did not take the batch at all (refused request, failed/lost job)."""

    def __init__(self, message: str, *, jobs_polled: int = 0) -> None:
        super().__init__(message)
        self.jobs_polled = jobs_polled


class BatchTooLarge(BatchFailed):
    """The POST failed with 504, 413 or a read timeout: send the events in smaller parts."""


def _refused(exc: Dhis2Error, count: int) -> BatchFailed:
    """The error a writer raises for a POST that failed for good."""
    message = f"The destination refused the batch of {count} events: {exc}"
    too_large = isinstance(exc, PayloadTooLarge) or (
        isinstance(exc, ServerError) and exc.status_code == 504
    )
    if isinstance(exc, Dhis2Timeout) and not isinstance(exc.__cause__, httpx.ConnectTimeout):
        too_large = True
    return BatchTooLarge(message) if too_large else BatchFailed(message)


def _post_batch(
    client: Client, path: str, events: list[dict[str, Any]], params: dict[str, Any]
) -> Any:
    """POST one batch to either events API and return the answer's body: a 409 is an answer
    to read (DHIS2 reports refused events with it), a POST that failed for good is raised as
    the batch's failure."""
    try:
        response = client.post_json(
            path,
            {"events": events},
            params=params,
            ok_statuses=(409,),
            retry_on=POST_RETRY_STATUSES,
        )
    except Dhis2Error as exc:
        raise _refused(exc, len(events)) from exc
    return response.body


def _read_answer(parse: Callable[[Any], _Answer], body: Any) -> _Answer:
    """`parse(body)`, or `BatchFailed` when the destination's answer is not one we can read."""
    try:
        return parse(body)
    except UnexpectedResponse as exc:
        message = f"The destination's answer to the batch was not readable: {exc}"
        raise BatchFailed(message) from exc


@dataclass(frozen=True)
class Polling:
    """How long and how often to wait for a tracker import job."""

    #: The first poll comes soon (DHIS2 imports a batch of 1,000 events in about a second),
    #: then the wait grows by `backoff` up to `max_interval`: a slow job costs few polls.
    interval: float = 0.2
    backoff: float = 1.5
    max_interval: float = 5.0
    timeout: float = 1800.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def _from_tracker_report(report: TrackerImportReport, sent: int, polled: int) -> BatchResult:
    errors = [
        EventError(event=e.uid, code=e.error_code, message=e.message)
        for e in report.errors
        if e.tracker_type in (None, "EVENT")
    ]
    return BatchResult(
        sent=sent,
        created=report.stats.get("created", 0),
        updated=report.stats.get("updated", 0),
        deleted=report.stats.get("deleted", 0),
        ignored=report.stats.get("ignored", 0),
        errors=errors,
        jobs_polled=polled,
        status=report.status,
    )


class TrackerWriter:
    """`POST /api/tracker` (async job, polled to completion)."""

    api = TRACKER

    def __init__(self, client: Client, *, polling: Polling | None = None) -> None:
        self.client = client
        self.polling = polling or Polling()

    def send(self, events: list[dict[str, Any]], *, dry_run: bool = False) -> BatchResult:
        params = {
            "async": True,
            "importStrategy": "CREATE_AND_UPDATE",
            "atomicMode": "OBJECT",
            "importMode": "VALIDATE" if dry_run else "COMMIT",
            "reportMode": "ERRORS",
        }
        body = _post_batch(self.client, "tracker", events, params)
        if not is_job_reference(body):
            return self._report(body, len(events), 0)
        job = parse_job_reference(body)
        polls = 0

        def count() -> None:
            nonlocal polls
            polls += 1

        p = self.polling
        try:
            report_body = wait_for_tracker_job(
                self.client,
                job.id,
                poll_interval=p.interval,
                backoff=p.backoff,
                max_poll_interval=p.max_interval,
                timeout=p.timeout,
                sleep=p.sleep,
                clock=p.clock,
                on_poll=count,
            )
        except JobFailed as exc:
            if isinstance(exc.summary, dict):
                try:
                    return self._report(exc.summary, len(events), polls)
                except BatchFailed:
                    pass
            raise BatchFailed(str(exc), jobs_polled=polls) from exc
        except Dhis2Error as exc:  # timeout, lost job, refused poll
            raise BatchFailed(str(exc), jobs_polled=polls) from exc
        return self._report(report_body, len(events), polls)

    @staticmethod
    def _report(body: Any, sent: int, polled: int) -> BatchResult:
        report = _read_answer(parse_tracker_import_report, body)
        return _from_tracker_report(report, sent, polled)


def _from_legacy(summaries: LegacyEventImportSummaries, sent: int) -> BatchResult:
    errors: list[EventError] = []
    for s in summaries.summaries:
        if s.status not in ("ERROR", "WARNING") and not s.conflicts:
            continue
        if s.description:
            errors.append(EventError(event=s.reference, code=None, message=s.description))
        for c in s.conflicts:
            errors.append(
                EventError(event=s.reference, code=c.error_code, message=c.value, object=c.object)
            )
        if not s.description and not s.conflicts:
            errors.append(
                EventError(event=s.reference, code=None, message=f"Import status {s.status}")
            )
    if not summaries.summaries and summaries.status == "ERROR":
        errors.append(
            EventError(event=None, code=None, message=summaries.description or "Import failed")
        )
    # Counted from the per-event summaries when there are some: DHIS2 adds them up the same
    # way (`ImportSummaries#addImportSummary`), and hand-made answers may have stale totals.
    each = summaries.summaries
    return BatchResult(
        sent=sent,
        created=sum(x.imported for x in each) if each else summaries.imported,
        updated=sum(x.updated for x in each) if each else summaries.updated,
        deleted=sum(x.deleted for x in each) if each else summaries.deleted,
        ignored=sum(x.ignored for x in each) if each else summaries.ignored,
        errors=errors,
        status=summaries.status,
    )


class LegacyWriter:
    """`POST /api/events` (synchronous ImportSummaries)."""

    api = LEGACY

    def __init__(self, client: Client) -> None:
        self.client = client

    def send(self, events: list[dict[str, Any]], *, dry_run: bool = False) -> BatchResult:
        params = {"importStrategy": "CREATE_AND_UPDATE", "dryRun": dry_run}
        body = _post_batch(self.client, "events", events, params)
        summaries = _read_answer(parse_legacy_event_summaries, body)
        return _from_legacy(summaries, len(events))


def send_in_parts(
    writer: TrackerWriter | LegacyWriter,
    events: list[dict[str, Any]],
    *,
    dry_run: bool = False,
    on_split: Callable[[int], None] | None = None,
) -> BatchResult:
    """Send `events`, halving the part on `BatchTooLarge` down to single events (a single
    event that is still too large raises it). `on_split(size)` is called before each split
    (the task layer's heartbeat). The results of the parts are added up."""
    try:
        return writer.send(events, dry_run=dry_run)
    except BatchTooLarge:
        if len(events) <= 1:
            raise
    if on_split is not None:
        on_split(len(events))
    middle = len(events) // 2
    parts = [
        send_in_parts(writer, part, dry_run=dry_run, on_split=on_split)
        for part in (events[:middle], events[middle:])
    ]
    statuses = [p.status for p in parts]
    return BatchResult(
        sent=sum(p.sent for p in parts),
        created=sum(p.created for p in parts),
        updated=sum(p.updated for p in parts),
        deleted=sum(p.deleted for p in parts),
        ignored=sum(p.ignored for p in parts),
        errors=[e for p in parts for e in p.errors],
        jobs_polled=sum(p.jobs_polled for p in parts),
        status="ERROR" if "ERROR" in statuses else ("WARNING" if "WARNING" in statuses else "OK"),
    )


def writer_for(
    client: Client, *, api: str | None = None, polling: Polling | None = None
) -> TrackerWriter | LegacyWriter:
    """The writer for the destination's version (or the API asked for)."""
    api = api or events_api_for(client.version)
    if api == TRACKER:
        return TrackerWriter(client, polling=polling)
    return LegacyWriter(client)
