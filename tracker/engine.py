"""Event transfer engine: the pure core (no Django), driven by the task layer.

`run_event_transfer(source, destination, spec, observer)`:

1. Each side's version decides its API on its own (`tracker.read.events_api_for`): a 2.38
   source can feed a 2.41 destination and the reverse.
2. Source events are read page by page (`tracker.read.iter_event_pages`), turned into the
   destination's minimal payload (`tracker.transform.event_payload`) and sent in batches of
   `batch_size` (`tracker.write`): async tracker jobs polled to the end, or legacy summaries.
   At most one page and one batch are in memory.
3. Checkpoint: `observer.batch_accepted(key, result)` right after the destination stored a whole
   batch without any error (not in dry runs). The key is a digest of the batch's source event
   UIDs and `updatedAt`, so a resumed run that reads the same source again forms the same
   batches and skips those keys (`spec.accepted_batches`); if the source changed meanwhile the
   keys differ and the batch is simply sent again, which is harmless: events keep their UIDs and
   are imported with CREATE_AND_UPDATE, so nothing is ever duplicated.
4. Per-event errors (DHIS2 code, event, message, the event's org unit) are collected; the run
   goes on with the other batches. A batch the destination did not take at all (`BatchFailed`)
   stops the run with `EventTransferFailed`, holding what was done so far.

`observer.progress` is called after every page and every batch and is the cancel point: what it
raises stops the run unchanged. `result.server_time` (the source's clock at the start, UTC) is
the next incremental watermark; move it only when `result.all_accepted`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

from dhis2.errors import Dhis2Error
from transfers.fetch import last_updated_param, source_clock

from .preview import count_events
from .read import OU_MODES, EventQuery, events_api_for, iter_event_pages
from .transform import STRIPPABLE, EventMappings, event_payload
from .write import BatchFailed, BatchResult, EventError, Polling, send_in_parts, writer_for

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
    batch_size: int = 200
    page_size: int = 200
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


class EventTransferFailed(Exception):
    """The run stopped midway; `result` holds what was done. Accepted batches were
    checkpointed, so resuming sends only the rest."""

    def __init__(self, message: str, result: EventTransferResult) -> None:
        super().__init__(message)
        self.result = result


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


class _Run:
    def __init__(
        self,
        source: Client,
        destination: Client,
        spec: EventTransferSpec,
        observer: Observer,
        tuning: Tuning,
    ) -> None:
        self.source = source
        self.destination = destination
        self.spec = spec
        self.observer = observer
        self.tuning = tuning
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        self.errors: list[EventError] = []
        self.failed_batches = 0
        self.total: int | None = None
        self.source_api = events_api_for(source.version)
        self.destination_api = events_api_for(destination.version)
        self.server_time: datetime | None = None

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
        try:
            for page in iter_event_pages(
                self.source, query, api=self.source_api, page_size=spec.page_size
            ):
                self.stats["fetched"] += len(page.events)
                for event in page.events:
                    batch.append(event)
                    if len(batch) >= spec.batch_size:
                        self._flush(writer, batch)
                        batch = []
                obs.progress(self.percent(), f"{self.stats['fetched']} events read")
            if batch:
                self._flush(writer, batch)
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

    def _flush(self, writer: Any, events: list[dict[str, Any]]) -> None:
        spec = self.spec
        key = batch_key(events)
        if key in spec.accepted_batches:
            self.stats["skipped_batches"] += 1
            self.stats["skipped_events"] += len(events)
            return
        payloads = [
            event_payload(e, mappings=spec.mappings, strip=spec.strip_fields, dialect=writer.api)
            for e in events
        ]
        self.observer.progress(self.percent(), f"Sending a batch of {len(payloads)} events")
        s = self.stats

        def split(size: int) -> None:
            s["splits"] += 1
            self.observer.log(
                "info",
                f"The destination gave up on {size} events at once (504, 413 or timeout); "
                "splitting them in two",
            )
            self.observer.progress(self.percent(), f"Splitting {size} events in two")

        result = send_in_parts(writer, payloads, dry_run=spec.dry_run, on_split=split)
        s["batches"] += 1
        s["sent"] += result.sent
        s["created"] += result.created
        s["updated"] += result.updated
        s["deleted"] += result.deleted
        s["ignored"] += result.ignored
        s["jobs_polled"] += result.jobs_polled
        s["errors"] += len(result.errors)
        org_units = {e.get("event"): e.get("orgUnit") for e in events}
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
        elif not spec.dry_run:
            self.observer.batch_accepted(key, result)
        self.observer.progress(self.percent(), f"{s['sent']} events sent")


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
