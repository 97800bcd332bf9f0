"""One transfer run after a successful preflight: fetch, map, chunk, import, complete.

Split from `transfers.engine` (which holds the public types and entry points) to keep both
readable; `engine.run_transfer` is the only caller.

Heartbeat: the task layer treats `observer.progress` as the run's heartbeat (a run silent for
too long is reaped as stalled) and as its cancellation point, so it is called after every
fetched request, before and after every chunk, after every answered split part, before every
retry wait, on every poll of an async import job and before every completeness request. The
observer throttles its writes; whatever it raises propagates unchanged.

Concurrent imports (`Tuning.import_concurrency` > 1). Most of a run is spent waiting for the
destination to answer imports, so up to that many chunks are posted at once, each on an import
thread, while the run's thread keeps reading, mapping and encoding the next chunks. Chunks are
disjoint sets of values (every value is in exactly one chunk), so the order in which DHIS2
stores them does not matter. Everything that touches the observer stays on the run's thread:

* results are taken in chunk order (a chunk that finished early waits for the ones before
  it), so figures, log lines, conflicts and checkpoints come out as in a sequential run, and
  each chunk is checkpointed exactly when the destination accepted all of it, whichever
  finished first;
* what an import thread would report (split parts, retry waits, async job polls) is queued
  and reported by the run's thread, which also beats every `Tuning.import_beat` seconds while
  it waits, so heartbeat and cancellation keep working;
* a chunk that fails (`ImportAborted`) stops new chunks from being sent; the ones in flight
  are still taken in (and checkpointed when accepted), then the run fails, so a resumed run
  sends exactly the chunks not checkpointed;
* when the observer raises (cancel, abort), import threads stop at their next report, the
  run's thread waits for them and counts what they stored, and nothing more goes to the
  observer.
"""

from __future__ import annotations

import gc
import math
import operator
import queue
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from completeness.assess import read_data_set
from completeness.compliance import DataSetStructure, gate_block
from dhis2.errors import Dhis2Error

from .chunking import Chunk, Chunker
from .completion import register_completeness
from .conflicts import ConflictLog
from .engine import STAT_KEYS, TransferFailed, TransferResult
from .fetch import Fetcher, FetchFailed, FetchUnit, fetch_params, last_updated_param
from .mapping import DataValue, DuplicateGuard
from .preflight import Plan, make_mapper
from .relay import RetryRelay
from .sending import ChunkOutcome, ImportAborted, Importer

if TYPE_CHECKING:
    from dhis2.client import Client

    from .engine import Observer, TransferSpec, Tuning

__all__ = ["TransferExecution"]

_DELETED = operator.attrgetter("deleted")
"""`DataValue.deleted` without a Python call per value (it is checked for every page)."""


class _Stopped(Exception):
    """Raised in an import thread at its next report once the run's thread has stopped."""


@dataclass
class _InFlight:
    """A chunk being imported on an import thread, with its own conflict log."""

    chunk: Chunk
    outcome: ChunkOutcome
    conflicts: ConflictLog
    future: Future[ChunkOutcome]


@contextmanager
def _collections_skip_older_objects() -> Iterator[None]:
    """While the run lasts, full passes of the cyclic garbage collector look only at objects
    created during the run (`gc.freeze`), not at the worker's own (Django, the imports: over
    100,000 objects).

    A run creates a `DataValue` per value read and per value sent, and tens of thousands are
    alive at any time (pages read ahead, chunks importing). Unlike plain tuples, named tuples
    are never untracked by the collector, so they keep triggering full passes, and each pass
    walked the whole process: about a fifth of a run's CPU time went there. Nothing is lost:
    objects of the run are collected as always, and the older ones are looked at again after
    the run. A process that froze objects itself keeps its own choice (nothing is done)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def _failures(run: TransferExecution) -> Iterator[None]:
    """Turn DHIS2 failures into `TransferFailed` with the partial result; any other stop
    (a cancellation or abort raised by the observer) keeps its type and carries the partial
    result as `partial_result`, so the caller can still record what was stored."""
    try:
        yield
    except (FetchFailed, ImportAborted, Dhis2Error) as exc:
        run.all_accepted = False
        result = run.result()
        try:
            run.observer.log("error", str(exc))
        except Exception as stop:  # cancelled while reporting: keep the figures all the same
            stop.partial_result = result  # type: ignore[attr-defined]
            raise
        raise TransferFailed(f"{exc} {result.message}", result) from exc
    except Exception as exc:
        run.all_accepted = False
        exc.partial_result = run.result()  # type: ignore[attr-defined]
        raise
    finally:
        run.relay.drain()


class TransferExecution:
    """The engine's state for one execution of a transfer; `execute()` once.

    Not `jobs.models.Run` (the database record of the background job): this object lives only
    while the engine works, and the task layer copies its result onto that record.
    """

    def __init__(
        self,
        source: Client,
        destination: Client,
        spec: TransferSpec,
        observer: Observer,
        plan: Plan,
        tuning: Tuning,
        relay: RetryRelay,
    ) -> None:
        self.source, self.destination, self.spec = source, destination, spec
        self.observer, self.plan, self.tuning, self.relay = observer, plan, tuning, relay
        self.stats = dict.fromkeys(STAT_KEYS, 0)
        self.conflicts = ConflictLog(tuning.max_conflict_values)
        self.mapper = make_mapper(spec, plan.source_default, plan.destination_default)
        self.chunker = Chunker(
            spec.chunk_size, data_set=plan.target_data_set, id_scheme=spec.id_scheme
        )
        self.importer = Importer(
            destination,
            data_set=plan.target_data_set,
            id_scheme=spec.id_scheme,
            dry_run=spec.dry_run,
            async_mode=spec.async_import,
            async_threshold=tuning.async_threshold,
            poll_interval=tuning.async_poll_interval,
            job_timeout=tuning.async_timeout,
            conflicts=self.conflicts,
            sleep=tuning.sleep,
            progress=self._part_progress,
        )
        self.concurrency = max(1, tuning.import_concurrency)
        self._owner = threading.get_ident()
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: deque[_InFlight] = deque()
        self._events: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._error: BaseException | None = None
        # Only a many-to-one mapping can put two values on one destination value.
        self.guard = DuplicateGuard(plan.collisions) if plan.collisions else None
        self.duplicate_groups = 0
        self.units = [
            FetchUnit(block, period, i)
            for i, (block, period) in enumerate(
                (b, p) for b in plan.blocks for p in dict.fromkeys(spec.periods)
            )
        ]
        self.last_updated = (
            last_updated_param(spec.last_updated, plan.clock.tz) if spec.last_updated else None
        )
        self.completion: set[tuple[str, str, str | None]] = set()
        self.all_accepted = True
        self.percent = 0.0
        self.requests_done = 0
        self.chunked = 0  # values given to the chunker
        self.doing = "Reading the source"
        self.structure: DataSetStructure | None = None
        self.held_back: list[dict[str, object]] = []
        relay.heartbeat = lambda e: self._heartbeat(f"retrying {e.method} after {e.reason}")

    # ---- phases ------------------------------------------------------------------------------

    def execute(self) -> TransferResult:
        spec, plan = self.spec, self.plan
        self.observer.log(
            "info",
            f"{'Dry run: ' if spec.dry_run else ''}transferring {plan.data_set_name} from "
            f"DHIS2 {plan.source_version} to DHIS2 {plan.destination_version}: "
            f"{len(self.units)} source request(s) for {len(dict.fromkeys(spec.periods))} "
            f"period(s), chunks of {spec.chunk_size} values.",
        )
        if self.last_updated:
            self.observer.log(
                "info",
                f"Incremental: only values changed since {spec.last_updated:%Y-%m-%d %H:%M} "
                f"UTC (lastUpdated={self.last_updated} in the source's time zone "
                f"{plan.clock.tz_name}).",
            )
        with _collections_skip_older_objects():
            with _failures(self):
                if spec.min_completeness is not None:
                    self._read_structure()
                self._transfer()
            with _failures(self):
                self._complete()
        result = self.result()
        try:
            # The last report is always written, and so checks for a cancel once more.
            self.observer.progress(100.0, result.message)
        except Exception as exc:  # cancelled at the very end: everything was stored
            exc.partial_result = result  # type: ignore[attr-defined]
            raise
        self.observer.log("warning" if result.conflicts else "info", result.message)
        return result

    def _transfer(self) -> None:
        total = max(1, len(self.units))
        params = self._params
        with (
            Fetcher(
                self.source,
                self.units,
                params,
                max_concurrency=self.spec.max_concurrency,
                prefetch=self.tuning.prefetch,
            ) as fetcher,
            self._imports(),
        ):
            for done, (_, values) in enumerate(fetcher, 1):
                self.relay.drain()
                self.requests_done = done
                self.stats["fetch_requests"] += 1
                self.stats["fetched"] += len(values)
                if self.structure is not None:
                    values = self._gate(values)
                self._feed_page(values)
                self.percent = 95.0 * done / total
                self.observer.progress(
                    self.percent,
                    f"Read {done} of {total} source requests ({self.stats['fetched']} values), "
                    f"sent {self.stats['sent']} values",
                )
            for chunk in self.chunker.flush():
                self._handle(chunk)
            self._settle()

    def _read_structure(self) -> None:
        """The source data set's elements and combos, for the completeness gate (one request;
        the values it judges are the ones this run fetches anyway)."""
        self.structure = read_data_set(self.source, self.spec.data_set)
        self.observer.log(
            "info",
            f"Completeness gate: only org unit/period forms with at least "
            f"{self.spec.min_completeness:g}% of the {len(self.structure.elements)} data "
            "elements filled on the source are sent.",
        )

    def _gate(self, values: list[DataValue]) -> list[DataValue]:
        """Hold back the forms of this block below the minimum (a block holds whole forms)."""
        assert self.structure is not None and self.spec.min_completeness is not None
        gate = gate_block(self.structure, values, min_completeness=self.spec.min_completeness)
        if not gate.held_back_rows:
            return values
        self.stats["held_back_rows"] += gate.held_back_rows
        self.stats["held_back_values"] += gate.held_back_values
        names = self.plan.org_unit_names
        room = self.tuning.max_held_back_listed - len(self.held_back)
        for form in gate.held_back_forms[: max(0, room)]:
            self.held_back.append(
                {
                    "org_unit": form.org_unit,
                    "org_unit_name": names.get(form.org_unit, ""),
                    "period": form.period,
                    "compliance": form.compliance,
                    "no_data": form.no_data,
                }
            )
        return cast("list[DataValue]", gate.kept)  # the values given, minus held-back forms

    def _params(self, unit: FetchUnit) -> list[tuple[str, str]]:
        return fetch_params(
            data_set=self.spec.data_set,
            unit=unit,
            id_scheme=self.spec.id_scheme,
            include_deleted=self.spec.include_deleted,
            last_updated=self.last_updated,
        )

    def _feed_page(self, values: list[DataValue]) -> None:
        """Map and chunk one fetched page. Without deletions or a duplicate guard the page goes
        through `Mapper.map_many` and `Chunker.extend` (no Python call per value); the chunks
        are the same as `_feed` value by value would build."""
        if self.guard is not None or any(map(_DELETED, values)):
            for value in values:
                self._feed(value)
            return
        mapped = self.mapper.map_many(values)
        self.chunked += len(mapped)
        for chunk in self.chunker.extend(mapped, self.spec.import_strategy):
            self._handle(chunk)

    def _feed(self, value: DataValue) -> None:
        strategy = self.spec.import_strategy
        if value.deleted:
            if strategy == "CREATE":
                self.stats["deletions_skipped"] += 1
                return
            strategy = "DELETE"
        mapped = self.mapper.map(value)
        if mapped is None:
            return
        if self.guard is not None and self._duplicate(self.guard, value, mapped):
            return
        self.chunked += 1
        chunk = self.chunker.add(mapped, strategy)
        if chunk is not None:
            self._handle(chunk)

    def _duplicate(self, guard: DuplicateGuard, value: DataValue, mapped: DataValue) -> bool:
        """Report `mapped` instead of sending it when an earlier source value of this run
        already landed on its destination identity (many-to-one mapping)."""
        earlier = guard.earlier(value, mapped)
        if earlier is None:
            return False
        self.stats["duplicates"] += 1
        prop = guard.differing(earlier, value.identity())
        shown = mapped.describe()
        self.duplicate_groups += 1
        if self.duplicate_groups <= self.tuning.max_conflict_values:
            message = (
                f"Not sent: source value {_identity(value.identity())} maps to the same "
                f"destination value ({_identity(mapped.identity())}) as source value "
                f"{_identity(earlier)}, which came first. Make the mapping one-to-one."
            )
        else:  # one group per value would grow without bound: the rest share one message
            message = (
                "Not sent: more source values map to a destination value that another source "
                "value of this run came first to. Make the mapping one-to-one."
            )
        self.conflicts.add(
            error_code="DUPLICATE_TARGET",
            message=message,
            object=shown[prop],
            property=prop,
            values=[shown],
        )
        return True

    def _handle(self, chunk: Chunk) -> None:
        if chunk.key in self.spec.accepted_chunks:
            self.stats["chunks"] += 1
            self.stats["skipped_chunks"] += 1
            self.stats["skipped_values"] += len(chunk)
            if chunk.strategy != "DELETE":
                self._note_stored(chunk.values)
            return
        if self._pool is not None:
            self._make_room()  # first: a failure there means this chunk is never sent
        self.stats["chunks"] += 1
        self.doing = f"Importing chunk {chunk.index} of ~{self._chunks_expected()}"
        self.observer.progress(self.percent, f"{self.doing} ({len(chunk)} values)")
        outcome = ChunkOutcome.start(chunk, dry_run=self.spec.dry_run)
        if self._pool is not None:
            self._submit(self._pool, chunk, outcome)
            return
        try:
            self.importer.send(chunk, outcome)
        except BaseException as exc:
            self._failed(chunk, outcome, exc)
            raise
        self._answered(chunk, outcome)

    # ---- concurrent imports ------------------------------------------------------------------

    @contextmanager
    def _imports(self) -> Iterator[None]:
        """The import threads of `_transfer` (none with `import_concurrency` 1); on any stop,
        the chunks in flight are waited for and counted before the stop propagates."""
        if self.concurrency > 1:
            self._pool = ThreadPoolExecutor(
                max_workers=self.concurrency, thread_name_prefix="dhis2sync-import"
            )
        try:
            yield
        except BaseException:
            self._abandon()
            raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _make_room(self) -> None:
        """Wait until fewer than `concurrency` chunks are in flight; raise a failure of one
        of them once all in flight are taken in."""
        while len(self._inflight) >= self.concurrency:
            self._take_head()
        if self._error is not None:
            self._settle()

    def _submit(self, pool: ThreadPoolExecutor, chunk: Chunk, outcome: ChunkOutcome) -> None:
        conflicts = ConflictLog(self.tuning.max_conflict_values)
        future = pool.submit(self.importer.send, chunk, outcome, conflicts=conflicts)
        future.add_done_callback(lambda _: self._events.put(None))  # wakes `_wait_for`
        self._inflight.append(_InFlight(chunk, outcome, conflicts, future))
        self._pump()

    def _settle(self) -> None:
        """Take in every chunk in flight, then raise the first import failure, if any."""
        while self._inflight:
            self._take_head()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _take_head(self) -> None:
        """Wait for the oldest chunk in flight and take its result in (on the run's thread)."""
        item = self._inflight[0]
        self._wait_for(item.future)
        self._inflight.popleft()
        self.conflicts.absorb(item.conflicts)
        error = item.future.exception()
        if error is None:
            self._answered(item.chunk, item.outcome)
            return
        self._failed(item.chunk, item.outcome, error)
        if self._error is None:
            self._error = error

    def _wait_for(self, future: Future[ChunkOutcome]) -> None:
        """Block until `future` is done, reporting the import threads' details and beating
        at least every `Tuning.import_beat` seconds (the observer may raise to stop)."""
        while not future.done():
            try:
                detail = self._events.get(timeout=self.tuning.import_beat)
            except queue.Empty:
                detail = None
            self._pump(detail, always=True)

    def _pump(self, detail: str | None = None, *, always: bool = False) -> None:
        """Report the latest queued detail of the import threads (all others are older)."""
        while True:
            try:
                detail = self._events.get_nowait() or detail
            except queue.Empty:
                break
        self.relay.drain()
        if detail is not None:
            self._heartbeat(detail)
        elif always:
            self._heartbeat(f"{len(self._inflight)} chunk(s) importing")

    def _part_progress(self, detail: str) -> None:
        """The importer's progress callback: direct on the run's thread, queued from import
        threads, where it is also the point at which a stopped run ends the import."""
        if threading.get_ident() == self._owner:
            self._heartbeat(detail)
            return
        if self._stop.is_set():
            raise _Stopped("the run stopped")
        self._events.put(detail)

    def _abandon(self) -> None:
        """The run stops: let the import threads end at their next report, wait for them and
        count what the destination stored. Nothing goes to the observer any more."""
        self._stop.set()
        items = list(self._inflight)
        self._inflight.clear()
        wait([item.future for item in items])
        for item in items:
            self.all_accepted = False
            self.conflicts.absorb(item.conflicts)
            self._count(item.chunk, item.outcome)

    # ---- results of a chunk ------------------------------------------------------------------

    def _failed(self, chunk: Chunk, outcome: ChunkOutcome, exc: BaseException) -> None:
        """Aborted or cancelled midway: what the answered parts stored still counts."""
        self.all_accepted = False
        self._count(chunk, outcome)
        if isinstance(exc, ImportAborted) and outcome.summary.posted:
            self.observer.log("warning", f"{self._chunk_text(chunk, outcome)}, then stopped.")

    def _answered(self, chunk: Chunk, outcome: ChunkOutcome) -> None:
        self._count(chunk, outcome)
        summary = outcome.summary
        text = self._chunk_text(chunk, outcome)
        if summary.splits:
            text += f"; split {summary.splits} time(s) after timeouts or size limits"
        if summary.accepted:
            if not self.spec.dry_run:
                self.observer.chunk_accepted(chunk.key, summary)
            self.observer.log("info", text + ".")
        else:
            self.all_accepted = False
            self.observer.log(
                "warning", text + f"; {summary.rejected} value(s) rejected, see conflicts."
            )
        self.relay.drain()
        self.observer.progress(
            self.percent, f"Imported chunk {chunk.index} of ~{self._chunks_expected()}"
        )

    def _count(self, chunk: Chunk, outcome: ChunkOutcome) -> None:
        summary = outcome.summary
        for name in ("imported", "updated", "ignored", "deleted", "splits", "requests"):
            self.stats[name] += getattr(summary, name)
        self.stats["sent"] += summary.posted
        if chunk.strategy != "DELETE":
            self._note_stored(outcome.stored)

    def _chunk_text(self, chunk: Chunk, outcome: ChunkOutcome) -> str:
        summary = outcome.summary
        verb = "would import" if self.spec.dry_run else "stored"
        done = "" if summary.posted == len(chunk) else f"{summary.posted} answered of "
        return (
            f"Chunk {chunk.index} ({done}{len(chunk)} values, {chunk.strategy}): "
            f"{summary.status}; {verb} {summary.imported} new, {summary.updated} updated, "
            f"{summary.ignored} ignored, {summary.deleted} deleted"
        )

    def _heartbeat(self, detail: str) -> None:
        """Progress report from inside a chunk (split parts, retries, async job polling)."""
        self.observer.progress(self.percent, f"{self.doing}: {detail}")

    def _chunks_expected(self) -> int:
        """Chunks this run will likely build: the values chunked so far, extrapolated over the
        source requests not read yet (exact once every request was read, give or take the
        separate deletion chunk)."""
        total = max(1, len(self.units))
        done = max(1, self.requests_done)
        values = self.chunked * total / done if done < total else self.chunked
        return max(self.chunker.built, math.ceil(values / self.spec.chunk_size))

    def _note_stored(self, values: list[DataValue]) -> None:
        if self.spec.mark_complete:
            self.completion.update(
                (v.org_unit or "", v.period, v.attribute_option_combo) for v in values
            )

    def _complete(self) -> None:
        if not self.spec.mark_complete or not self.completion:
            return
        if self.spec.dry_run:
            self.observer.log(
                "info",
                f"Dry run: completeness would be registered for {len(self.completion)} "
                "org unit/period/attribute combination(s).",
            )
            return
        if self.plan.target_data_set is None:
            self.observer.log(
                "warning", "Completeness not registered: the destination data set is missing."
            )
            return
        self.percent, self.doing = 97.0, "Registering completeness"
        self.observer.progress(97.0, f"{self.doing} ({len(self.completion)})")
        outcome = register_completeness(
            self.destination,
            data_set=self.plan.target_data_set,
            targets=self.completion,
            id_scheme=self.spec.id_scheme,
            batch_size=self.tuning.completion_batch,
            conflicts=self.conflicts,
            on_batch=lambda done, total: self._heartbeat(f"{done} of {total} sent"),
        )
        self.stats["completed_registrations"] += outcome.registered
        level = "warning" if outcome.conflicts else "info"
        self.observer.log(
            level,
            f"Completeness registered for {outcome.registered} of {outcome.requested} org "
            f"unit/period combination(s)"
            + (f"; {outcome.conflicts} could not be registered." if outcome.conflicts else "."),
        )

    # ---- result ------------------------------------------------------------------------------

    def result(self) -> TransferResult:
        stats = dict(self.stats)
        stats["retries"] = self.relay.count
        stats["unmapped"] = self.mapper.unmapped_count
        stats["conflicts"] = self.conflicts.total
        stats["mapped_by_profile"] = self.mapper.mapped_by_profile
        return TransferResult(
            stats=stats,
            conflicts=self.conflicts.conflicts,
            unmapped=self.mapper.unmapped_report(),
            preflight=list(self.plan.problems),
            all_chunks_accepted=self.all_accepted,
            server_time=self.plan.clock.server_time,
            dry_run=self.spec.dry_run,
            profile_mappings_used=self.mapper.profile_report(),
            held_back=list(self.held_back),
            message=_summary_text(
                stats, dry_run=self.spec.dry_run, unmapped_sent=self.mapper.send_unmapped
            ),
        )


def _identity(identity: tuple[str, ...]) -> str:
    """A value's identity for messages: data element/period/org unit/option combo/attribute
    option combo."""
    return "/".join(part or "-" for part in identity)


#: The summary's optional clauses, in the order they are told: (the counters of which one must
#: be non-zero for the clause to be told, its text formatted with the stats).
_SUMMARY_CLAUSES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("skipped_chunks",), "{skipped_chunks} chunk(s) already sent by an earlier attempt"),
    (("conflicts",), "{conflicts} conflict(s)"),
    (
        ("duplicates",),
        "{duplicates} value(s) not sent because an earlier source value mapped to the same "
        "destination value",
    ),
    (("unmapped",), "{unmapped} value(s) without a mapping row {unmapped_how}"),
    (("retries", "splits"), "{retries} retries, {splits} split(s)"),
    (("completed_registrations",), "{completed_registrations} completeness registration(s)"),
    (("mapped_by_profile",), "{mapped_by_profile} value(s) mapped by the profile's mappings"),
    (
        ("held_back_rows",),
        "{held_back_values} value(s) of {held_back_rows} org unit/period form(s) held back "
        "below the minimum completeness",
    ),
)


def _summary_text(stats: dict[str, int], *, dry_run: bool, unmapped_sent: bool) -> str:
    head = "Dry run: would import" if dry_run else "Imported"
    how = "sent with unchanged identifiers" if unmapped_sent else "skipped"
    parts = [
        f"{head} {stats['imported']} new and {stats['updated']} updated values "
        f"({stats['ignored']} ignored, {stats['deleted']} deleted) from {stats['fetched']} "
        f"read and {stats['sent']} sent in {stats['chunks']} chunk(s)"
    ]
    parts += [
        text.format(**stats, unmapped_how=how)
        for counters, text in _SUMMARY_CLAUSES
        if any(stats[name] for name in counters)
    ]
    return "; ".join(parts) + "."
