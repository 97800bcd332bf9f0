"""Event transfer engine: the pure core (no Django), driven by the task layer.

`run_event_transfer(source, destination, spec, observer)`:

1. Each side's version decides its API on its own (`tracker.read.events_api_for`): a 2.38
   source can feed a 2.41 destination and the reverse.
2. Source events are read page by page (`tracker.read.iter_event_pages`), turned into the
   destination's minimal payload (`tracker.transform.event_payload`) and sent in batches of
   `batch_size` (`tracker.write`): async tracker jobs polled to the end, or legacy summaries.
   Up to `Tuning.max_in_flight` batches are sent and waited for on worker threads while the
   next page is read and the next batch posted (one job at a time, each polled to the end,
   spent most of a run waiting); their results are taken in batch order on the run's thread,
   which alone calls the observer; the next page is read on a thread meanwhile. At most two
   pages and `max_in_flight + 1` batches are in memory.
3. Checkpoint: `observer.batch_accepted(key, result)` as soon as the destination stored a whole
   batch without any error (not in dry runs). When the run stops (a refused batch, a source
   error, a cancel), the batches already sent are waited for and checkpointed first: DHIS2
   imports them anyway, so a resume must not count them as missing. The key is a digest of
   the batch's source event UIDs and `updatedAt`, so a resumed run that reads the same source
   again forms the same batches and skips those keys (`spec.accepted_batches`); if the source
   changed meanwhile the keys differ and the batch is simply sent again, which is harmless:
   events keep their UIDs and are imported with CREATE_AND_UPDATE, so nothing is duplicated.
4. Per-event errors (DHIS2 code, event, message, the event's org unit) are collected; the run
   goes on with the other batches. A batch the destination did not take at all (`BatchFailed`)
   stops the run with `EventTransferFailed`, holding what was done so far.

`observer.progress` is called after every page and every batch, and every
`Tuning.wait_report_interval` seconds while a job is waited for; it is the cancel point: what it
raises stops the run (after the batches in flight, see 3). `result.server_time` (the source's
clock at the start, UTC) is the next incremental watermark; move it only when
`result.all_accepted`.
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from dhis2.closing import ClosesPool
from dhis2.errors import Dhis2Error
from transfers.fetch import last_updated_param, source_clock
from transfers.partial import StoppedMidway

from .preview import count_events
from .read import OU_MODES, EventQuery, events_api_for, iter_event_pages
from .transform import STRIPPABLE, EventMappings, event_payload
from .write import (
    BatchFailed,
    BatchResult,
    EventError,
    LegacyWriter,
    Polling,
    TrackerWriter,
    send_in_parts,
    writer_for,
)

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = [
    "STAT_KEYS",
    "EventTransferFailed",
    "EventTransferResult",
    "EventTransferSpec",
    "InvalidEventSpec",
    "Observer",
    "Tuning",
    "batch_key",
    "run_event_transfer",
    "validate_spec",
]

_T = TypeVar("_T")

STAT_KEYS = (
    "fetched", "sent", "created", "updated", "deleted", "ignored", "errors", "batches",
    "jobs_polled", "skipped_batches", "skipped_events", "splits",
)  # fmt: skip


@dataclass
class EventTransferSpec:
    """What to move. `updated_after` is the incremental bound (UTC-aware, overlap already
    subtracted); `accepted_batches` the checkpoint keys of earlier attempts of this run."""

    program: str
    org_units: list[str]
    program_stage: str | None = None
    ou_mode: str = "DESCENDANTS"
    start_date: date | None = None
    end_date: date | None = None
    updated_after: datetime | None = None
    mappings: EventMappings = field(default_factory=EventMappings)
    strip_fields: list[str] = field(default_factory=list)
    dry_run: bool = False
    batch_size: int = 1000
    page_size: int = 1000
    accepted_batches: frozenset[str] = frozenset()


class Observer(Protocol):
    """Implemented by the task layer (writes the Run). `progress` may raise to cancel."""

    def log(self, level: str, message: str) -> None: ...
    def progress(self, percent: float, message: str) -> None: ...
    def batch_accepted(self, key: str, result: BatchResult) -> None: ...


@dataclass(frozen=True)
class Tuning:
    """Knobs outside a transfer's configuration (tests shrink them)."""

    polling: Polling = field(default_factory=Polling)
    count_first: bool = True
    max_errors_kept: int = 10_000
    #: Batches sent and not yet finished at once: while DHIS2 imports one job, the next page is
    #: read and the next batch posted. 1 still overlaps reading with the job; 0 is not allowed.
    max_in_flight: int = 2
    #: How often the run reports progress (heartbeat, cancel point) while it waits for a job.
    wait_report_interval: float = 5.0


@dataclass
class EventTransferResult:
    stats: dict[str, int]
    errors: list[EventError]
    all_accepted: bool
    server_time: datetime | None
    source_api: str
    destination_api: str
    dry_run: bool = False
    message: str = ""


class InvalidEventSpec(ValueError):
    """The configuration cannot run as given (the message lists every problem)."""


class EventTransferFailed(StoppedMidway["EventTransferResult"]):
    """The run stopped midway; `result` holds what was done. Accepted batches were
    checkpointed, so resuming sends only the rest."""


def validate_spec(spec: EventTransferSpec) -> list[str]:
    """Configuration errors, as sentences (empty when the spec can run)."""
    errors = []
    if not spec.program:
        errors.append("Choose a program.")
    if spec.ou_mode not in OU_MODES:
        errors.append(f"The org unit mode must be one of {', '.join(OU_MODES)}.")
    if spec.ou_mode != "ACCESSIBLE" and not spec.org_units:
        errors.append("Choose at least one org unit (or the ACCESSIBLE mode).")
    if spec.start_date and spec.end_date and spec.start_date > spec.end_date:
        errors.append("The start date is after the end date.")
    if spec.updated_after is not None and spec.updated_after.tzinfo is None:
        errors.append("The incremental watermark must be timezone-aware (UTC).")
    unknown = sorted(set(spec.strip_fields) - set(STRIPPABLE))
    if unknown:
        errors.append(f"Cannot strip {', '.join(unknown)}; choose from {', '.join(STRIPPABLE)}.")
    if not 1 <= spec.batch_size <= 5000:
        errors.append("The batch size must be between 1 and 5000 events.")
    if not 1 <= spec.page_size <= 10_000:
        errors.append("The page size must be between 1 and 10000 events.")
    return errors


def batch_key(events: list[dict[str, Any]]) -> str:
    """Checkpoint key of a batch: digest of its source events' UIDs and `updatedAt`."""
    digest = hashlib.sha256()
    for event in events:
        digest.update(f"{event.get('event')}|{event.get('updatedAt') or ''}\n".encode())
    return digest.hexdigest()[:40]


@dataclass(eq=False)
class _Run:
    """One execution: what it was given, and what it has done so far."""

    source: Client
    destination: Client
    spec: EventTransferSpec
    observer: Observer
    tuning: Tuning
    stats: dict[str, int] = field(init=False, default_factory=lambda: dict.fromkeys(STAT_KEYS, 0))
    errors: list[EventError] = field(init=False, default_factory=list)
    failed_batches: int = field(init=False, default=0)
    total: int | None = field(init=False, default=None)
    server_time: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.source_api = events_api_for(self.source.version)
        self.destination_api = events_api_for(self.destination.version)

    def result(self, message: str = "") -> EventTransferResult:
        return EventTransferResult(
            stats=dict(self.stats),
            errors=list(self.errors),
            all_accepted=not self.spec.dry_run
            and self.stats["errors"] == 0
            and self.failed_batches == 0,
            server_time=self.server_time,
            source_api=self.source_api,
            destination_api=self.destination_api,
            dry_run=self.spec.dry_run,
            message=message,
        )

    def percent(self) -> float:
        if not self.total:
            return 0.0
        return min(99.0, 100.0 * self.stats["fetched"] / self.total)

    def execute(self) -> EventTransferResult:
        spec, obs = self.spec, self.observer
        obs.progress(0.0, "Reading the source's clock and versions")
        try:
            clock = source_clock(self.source.system_info())
        except Dhis2Error as exc:
            raise EventTransferFailed(f"Could not read the source: {exc}", self.result()) from exc
        self.server_time = clock.server_time
        obs.log(
            "info",
            f"Source DHIS2 {self.source.version} ({self.source_api} API) → destination DHIS2 "
            f"{self.destination.version} ({self.destination_api} API)"
            + (" — dry run, nothing is written" if spec.dry_run else ""),
        )
        updated_after = (
            last_updated_param(spec.updated_after, clock.tz) if spec.updated_after else None
        )
        if updated_after:
            obs.log("info", f"Incremental: events updated since {updated_after} (source time)")
        query = EventQuery(
            program=spec.program,
            program_stage=spec.program_stage,
            org_units=tuple(spec.org_units),
            ou_mode=spec.ou_mode,
            start_date=spec.start_date,
            end_date=spec.end_date,
            updated_after=updated_after,
        )
        if self.tuning.count_first:
            try:
                counts = count_events(self.source, query, api=self.source_api)
                known = [c for c in counts.values() if c >= 0]
                self.total = sum(known) if known else None
                obs.log("info", f"{self.total if self.total is not None else '?'} matching events")
            except Dhis2Error as exc:
                obs.log("warning", f"Could not count the events first ({exc}); reading anyway")
        writer = writer_for(self.destination, api=self.destination_api, polling=self.tuning.polling)
        batch: list[dict[str, Any]] = []
        sender = _Sender(writer, dry_run=spec.dry_run, max_in_flight=self.tuning.max_in_flight)
        try:
            try:
                pages = iter_event_pages(
                    self.source, query, api=self.source_api, page_size=spec.page_size
                )
                with closing(_read_ahead(pages)) as ahead:
                    for page in ahead:
                        self.stats["fetched"] += len(page.events)
                        for event in page.events:
                            batch.append(event)
                            if len(batch) >= spec.batch_size:
                                self._flush(sender, batch)
                                batch = []
                        obs.progress(self.percent(), f"{self.stats['fetched']} events read")
                if batch:
                    self._flush(sender, batch)
                while sender.pending:
                    self._collect(sender)
            except BaseException:
                self._drain(sender)
                raise
            finally:
                sender.close()
        except BatchFailed as exc:
            self.stats["jobs_polled"] += exc.jobs_polled
            self.failed_batches += 1
            message = f"Stopped: {exc}"
            obs.log("error", message)
            raise EventTransferFailed(message, self.result(message)) from exc
        except Dhis2Error as exc:
            message = f"Stopped while reading the source: {exc}"
            obs.log("error", message)
            raise EventTransferFailed(message, self.result(message)) from exc
        s = self.stats
        message = (
            f"{s['fetched']} events read, {s['sent']} sent in {s['batches']} batches: "
            f"{s['created']} created, {s['updated']} updated, {s['ignored']} ignored, "
            f"{s['errors']} errors"
            + (f", {s['skipped_batches']} batches already done" if s["skipped_batches"] else "")
        )
        obs.progress(100.0, message)
        return self.result(message)

    def _flush(self, sender: _Sender, events: list[dict[str, Any]]) -> None:
        """Send one batch (unless a checkpoint says it was accepted before), after making room
        among the batches in flight."""
        spec = self.spec
        key = batch_key(events)
        if key in spec.accepted_batches:
            self.stats["skipped_batches"] += 1
            self.stats["skipped_events"] += len(events)
            return
        payloads = [
            event_payload(e, mappings=spec.mappings, strip=spec.strip_fields, dialect=sender.api)
            for e in events
        ]
        while sender.full:
            self._collect(sender)
        org_units = {e.get("event"): e.get("orgUnit") for e in events}
        sender.submit(key, payloads, org_units)
        self.observer.progress(self.percent(), f"Sent a batch of {len(payloads)} events")

    def _collect(self, sender: _Sender) -> None:
        """Wait for the oldest batch in flight (reporting progress meanwhile: the heartbeat and
        the cancel point) and record what the destination did with it."""
        interval = self.tuning.wait_report_interval
        while not sender.oldest_done(timeout=interval):
            self.observer.progress(self.percent(), "Waiting for the destination's import job")
        self._record(*sender.pop())

    def _drain(self, sender: _Sender) -> None:
        """The run is stopping: no new batch is sent, the ones in flight are waited for and
        those the destination accepted are checkpointed. Never calls `observer.progress`
        (it may be what is raising) and keeps the first failure for the caller."""
        while sender.pending:
            try:
                self._record(*sender.pop(), quiet=True)
            except BatchFailed as exc:
                self.stats["jobs_polled"] += exc.jobs_polled
                self.failed_batches += 1

    def _record(
        self,
        key: str,
        result: BatchResult,
        org_units: dict[Any, Any],
        splits: list[int],
        *,
        quiet: bool = False,
    ) -> None:
        s = self.stats
        for size in splits:
            s["splits"] += 1
            self.observer.log(
                "info",
                f"The destination gave up on {size} events at once (504, 413 or timeout); "
                "splitting them in two",
            )
        s["batches"] += 1
        s["sent"] += result.sent
        s["created"] += result.created
        s["updated"] += result.updated
        s["deleted"] += result.deleted
        s["ignored"] += result.ignored
        s["jobs_polled"] += result.jobs_polled
        s["errors"] += len(result.errors)
        for error in result.errors:
            error.org_unit = org_units.get(error.event)
            if len(self.errors) < self.tuning.max_errors_kept:
                self.errors.append(error)
        if result.errors:
            self.observer.log(
                "warning",
                f"Batch {s['batches']}: {len(result.failed_events) or len(result.errors)} "
                f"event(s) refused, e.g. {result.errors[0].code or ''} "
                f"{result.errors[0].message}".replace("  ", " "),
            )
        elif not self.spec.dry_run:
            self.observer.batch_accepted(key, result)
        if not quiet:
            self.observer.progress(self.percent(), f"{s['sent']} events sent")


def _read_ahead(pages: Iterator[_T]) -> Generator[_T, None, None]:
    """The pages of `pages`, the next one read on a thread while the caller sends this one
    (the source's answer time then hides behind the destination's jobs). What reading raises
    comes out of the `next` that would have returned the page."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dhis2sync-ev-read") as pool:
        future = pool.submit(next, pages, None)
        while (page := future.result()) is not None:
            future = pool.submit(next, pages, None)
            yield page


class _Sender(ClosesPool):
    """Batches in flight: each is sent (and its job waited for) on a worker thread, at most
    `max_in_flight` at once; results are taken oldest first. Worker threads only talk to
    DHIS2: splits are noted in a list the run's thread logs when it takes the result."""

    def __init__(
        self, writer: TrackerWriter | LegacyWriter, *, dry_run: bool, max_in_flight: int
    ) -> None:
        self.writer, self.dry_run = writer, dry_run
        self.api = writer.api
        self.limit = max(1, max_in_flight)
        self.pool = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix="dhis2sync-ev")
        self.queue: deque[tuple[str, Future[BatchResult], dict[Any, Any], list[int]]] = deque()

    @property
    def pending(self) -> int:
        return len(self.queue)

    @property
    def full(self) -> bool:
        return len(self.queue) >= self.limit

    def submit(self, key: str, payloads: list[dict[str, Any]], org_units: dict[Any, Any]) -> None:
        splits: list[int] = []
        future = self.pool.submit(
            send_in_parts, self.writer, payloads, dry_run=self.dry_run, on_split=splits.append
        )
        self.queue.append((key, future, org_units, splits))

    def oldest_done(self, *, timeout: float) -> bool:
        done, _ = wait([self.queue[0][1]], timeout=timeout)
        return bool(done)

    def pop(self) -> tuple[str, BatchResult, dict[Any, Any], list[int]]:
        """The oldest batch's outcome; raises its `BatchFailed`."""
        key, future, org_units, splits = self.queue.popleft()
        return key, future.result(), org_units, splits


def run_event_transfer(
    source: Client,
    destination: Client,
    spec: EventTransferSpec,
    observer: Observer,
    *,
    tuning: Tuning | None = None,
) -> EventTransferResult:
    """Run one event transfer (see the module docstring). Raises `InvalidEventSpec`,
    `EventTransferFailed` (with the partial result) or whatever `observer.progress` raises."""
    errors = validate_spec(spec)
    if errors:
        raise InvalidEventSpec(" ".join(errors))
    return _Run(source, destination, spec, observer, tuning or Tuning()).execute()
