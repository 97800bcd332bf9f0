"""Posting chunks to `POST /api/dataValueSets`: adaptive splitting, retries, async jobs and
import summaries.

The client owns the one retry loop (its `RetryPolicy` waits, `Retry-After`, `RetryEvent`s);
the importer passes a per-call hook (`on_failure`) that decides, for each failed attempt,
whether the client sends it again or gives the error back, and then acts on that error:

* **504, 413 or a read timeout**: the payload was too big or too slow for DHIS2 or its proxy.
  The hook says FAIL at once; the importer splits the values in halves and posts each half,
  recursively down to single values. A single value that still fails becomes an error
  conflict, not a crash. Each split is counted.
* **502, 503, 429 and network errors** (refused, reset, connect timeout): retried with the
  client's backoff (a 429's `Retry-After` honoured); when the attempts run out the run stops
  with `ImportAborted`: the destination is down, and the checkpoints let a resumed run send
  only what is left.
* **DHIS2's own 500 WebMessage** (`CrudControllerAdvice.defaultExceptionHandler`): an import
  is idempotent by value identity, so the chunk is sent up to `server_error_attempts` times
  (a 500 can come from a transient cause such as a lock timeout); if it persists, the chunk is
  split, without further resending, to isolate the values DHIS2 fails on, which are reported
  as conflicts with the server's message. A 500 that is not DHIS2's (a proxy's HTML page) and
  501 fail only this chunk, as before.
* **401, 403, 404, non-DHIS2 answers**: `ImportAborted` at once (every chunk would fail alike).
* **409 from an import** is not an error: 2.38+ answers WARNING/ERROR summaries with 409
  (reference §0). Other 4xx answers fail only this chunk (reported as conflicts).

Heartbeat: the importer calls its `progress` callback after every answered part, on every
split, before every retry wait and on every poll of an async import job, because one chunk can
take long (splits, backoff, an hour-long async job) and the task layer treats progress reports
as the run's heartbeat and cancellation point. Whatever the callback raises propagates.

Nothing 4xx is ever retried. One `Importer` may send several chunks at once from different
threads (`Tuning.import_concurrency`, see `transfers.running`): its state is configuration
only, each `send` fills its own `ChunkOutcome` and, when given one, its own `ConflictLog`.
Chunks hold disjoint values, so concurrent imports never write the same `datavalue` row; a
destination that still struggles with them (row-lock contention on a busy server) is run with
`import_concurrency=1`, which sends one chunk at a time on the run's own thread.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from dhis2.async_jobs import wait_for_task
from dhis2.errors import (
    AuthenticationFailed,
    Dhis2Error,
    Dhis2Timeout,
    JobFailed,
    NotDhis2,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    UnexpectedResponse,
    Unreachable,
    web_message_text,
)
from dhis2.imports import (
    DataImportSummary,
    ImportCount,
    is_job_reference,
    parse_data_import_summary,
    parse_job_reference,
)
from dhis2.retry import Decision, Failure

from .chunking import Chunk, encode_body, halves
from .conflicts import ConflictLog, match_conflict
from .mapping import DataValue

if TYPE_CHECKING:
    from dhis2.client import Client, Response

__all__ = ["ChunkOutcome", "ChunkSummary", "ImportAborted", "Importer", "status_rank"]

logger = logging.getLogger("transfers.sending")

_STATUS_RANK = {"SUCCESS": 0, "OK": 0, "WARNING": 1, "ERROR": 2}


def status_rank(status: str) -> int:
    return _STATUS_RANK.get(status.upper(), 2)


class ImportAborted(Exception):
    """The destination cannot take more data now (down, refusing credentials, ...)."""


class _Split(Exception):
    """Post the values in halves. `server_error`: DHIS2 failed on them with a 500."""

    def __init__(self, code: str, message: str, *, server_error: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.server_error = server_error


class _ChunkFailed(Exception):
    def __init__(self, code: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Kind(enum.Enum):
    """What a failed import request means for the chunk (see the module docstring)."""

    SPLIT = "split"  # 504, 413, read timeout: the payload is too big or too slow
    TRANSIENT = "transient"  # 502, 503, 429, network errors: resend as it is
    SERVER_ERROR = "server_error"  # DHIS2's own 500: resend a little, then isolate culprits
    ABORT = "abort"  # credentials, permissions, wrong URL: every chunk would fail alike
    CHUNK = "chunk"  # anything else: this chunk failed


def _kind(exc: Dhis2Error) -> _Kind:
    if isinstance(exc, PayloadTooLarge):
        return _Kind.SPLIT
    if isinstance(exc, Dhis2Timeout):
        connect = isinstance(exc.__cause__, httpx.ConnectTimeout)
        return _Kind.TRANSIENT if connect else _Kind.SPLIT
    if isinstance(exc, ServerError) and exc.status_code == 504:
        return _Kind.SPLIT
    if isinstance(exc, ServerError) and exc.status_code in (502, 503):
        return _Kind.TRANSIENT
    if isinstance(exc, RateLimited | Unreachable):
        return _Kind.TRANSIENT
    if isinstance(exc, AuthenticationFailed | PermissionDenied | NotFound | NotDhis2):
        return _Kind.ABORT
    if isinstance(exc, ServerError) and exc.status_code == 500 and _is_web_message(exc):
        return _Kind.SERVER_ERROR
    return _Kind.CHUNK


def _is_web_message(exc: Dhis2Error) -> bool:
    """DHIS2's own error body (`{"httpStatusCode": 500, "status": "ERROR", "message": …}`),
    not a proxy's page: only then is the 500 about the values sent."""
    body = exc.web_message
    return isinstance(body, dict) and body.get("httpStatusCode") == exc.status_code


def _reason(exc: Dhis2Error) -> str:
    """Short cause for progress details and the abort message."""
    if isinstance(exc, ServerError) and exc.status_code:
        return f"HTTP {exc.status_code}"
    if isinstance(exc, Dhis2Timeout):
        return "connect timeout"
    return str(exc)


@dataclass
class ChunkSummary(ImportCount):
    """What the destination said about one chunk (all its split parts added up: the
    `ImportCount`s of their answers summed).

    `rejected` counts values DHIS2 named in conflicts or `rejectedIndexes` (or all values of a
    failed part); `conflicts` counts conflict entries; `posted` counts the values of parts that
    got a final answer (all of them once `send` returns, fewer when it stopped midway). A chunk
    is `accepted` (and checkpointed) only when no part failed and nothing was rejected: a chunk
    with conflicts is sent again by a resumed run, which re-reports its conflicts (and stores
    nothing twice).
    """

    key: str
    index: int
    values: int
    strategy: str
    status: str = "SUCCESS"
    conflicts: int = 0
    rejected: int = 0
    splits: int = 0
    requests: int = 0
    async_jobs: int = 0
    posted: int = 0
    dry_run: bool = False

    @property
    def accepted(self) -> bool:
        return self.status != "ERROR" and self.conflicts == 0 and self.rejected == 0

    def worsen(self, status: str) -> None:
        if status_rank(status) > status_rank(self.status):
            self.status = status.upper()


@dataclass
class ChunkOutcome:
    """What became of a chunk; filled part by part, so it stays right when sending stops."""

    summary: ChunkSummary
    stored: list[DataValue]
    """Values of the chunk not rejected by the destination (for completeness registration)."""

    @classmethod
    def start(cls, chunk: Chunk, *, dry_run: bool = False) -> ChunkOutcome:
        summary = ChunkSummary(
            key=chunk.key,
            index=chunk.index,
            values=len(chunk.values),
            strategy=chunk.strategy,
            dry_run=dry_run,
        )
        return cls(summary=summary, stored=[])


class Importer:
    """Posts chunks to one destination and records their conflicts in a `ConflictLog`."""

    def __init__(
        self,
        client: Client,
        *,
        data_set: str | None,
        id_scheme: str,
        dry_run: bool,
        async_mode: bool | str,
        async_threshold: int,
        poll_interval: float,
        job_timeout: float,
        conflicts: ConflictLog,
        sleep: Callable[[float], None] = time.sleep,
        progress: Callable[[str], None] | None = None,
        server_error_attempts: int = 3,
    ) -> None:
        """`sleep` paces async job polling (retry waits are the client's own sleep);
        `server_error_attempts` bounds how often a chunk is sent while DHIS2 answers 500
        (capped by the client's `RetryPolicy.max_attempts`)."""
        self.client = client
        self.data_set = data_set
        self.id_scheme = id_scheme
        self.dry_run = dry_run
        self.async_mode = async_mode
        self.async_threshold = async_threshold
        self.poll_interval = poll_interval
        self.job_timeout = job_timeout
        self.conflicts = conflicts
        self.sleep = sleep
        self.progress = progress
        self.server_error_attempts = max(1, server_error_attempts)

    # ---- public ------------------------------------------------------------------------------

    def send(
        self,
        chunk: Chunk,
        outcome: ChunkOutcome | None = None,
        *,
        conflicts: ConflictLog | None = None,
    ) -> ChunkOutcome:
        """Post `chunk`; raises `ImportAborted` (or what `progress` raises). Pass an `outcome`
        (`ChunkOutcome.start`) to keep what the parts answered before such a stop: it is
        filled as each part is answered. `conflicts`: where this chunk's conflicts go instead
        of the importer's log (a chunk sent on another thread gets a log of its own, merged
        by the engine on the run's thread). The chunk's encoded `body` is posted as it is;
        only split parts are encoded again."""
        if outcome is None:
            outcome = ChunkOutcome.start(chunk, dry_run=self.dry_run)
        log = self.conflicts if conflicts is None else conflicts
        self._send_part(
            chunk.values,
            chunk.strategy,
            outcome.summary,
            outcome.stored,
            resend=True,
            log=log,
            body=chunk.body,
        )
        return outcome

    def params(self, strategy: str, *, use_async: bool) -> dict[str, Any]:
        """Query of an import. With CODE, `idScheme=CODE` makes DHIS2 resolve data elements,
        org units and option combos by code, while `dataSetIdScheme=UID` keeps the data set a
        UID (the more specific scheme wins: `createIdScheme` in `DefaultDataValueSetService`)."""
        params: dict[str, Any] = {"importStrategy": strategy}
        if self.dry_run:
            params["dryRun"] = "true"
        if self.id_scheme != "UID":
            params["idScheme"] = self.id_scheme
            if self.data_set:
                params["dataSetIdScheme"] = "UID"
        if use_async:
            params["async"] = "true"
        return params

    # ---- splitting ---------------------------------------------------------------------------

    def _send_part(
        self,
        values: list[DataValue],
        strategy: str,
        summary: ChunkSummary,
        stored: list[DataValue],
        *,
        resend: bool,
        log: ConflictLog,
        body: bytes | None = None,
    ) -> None:
        """Post `values` (`body`: their encoding, when already made), splitting on failure.
        `resend`: a DHIS2 500 may still be resent; off for the halves of a part that kept
        failing with 500 (the split isolates, it does not retry again)."""
        try:
            parsed = self._post(values, strategy, summary, resend=resend, body=body)
        except _Split as exc:
            if len(values) <= 1:
                message = f"{exc.message} (even for this single value)"
                self._fail(values, exc.code, message, summary, log)
                self._report(f"{summary.posted} of {summary.values} values answered")
                return
            summary.splits += 1
            left, right = halves(values)
            logger.info(
                "Chunk %s: %s; splitting %d values into %d + %d",
                summary.index,
                exc.code,
                len(values),
                len(left),
                len(right),
            )
            self._report(f"{exc.code}: splitting {len(values)} values in two")
            resend = resend and not exc.server_error
            self._send_part(left, strategy, summary, stored, resend=resend, log=log)
            self._send_part(right, strategy, summary, stored, resend=resend, log=log)
            return
        except _ChunkFailed as exc:
            self._fail(values, exc.code, exc.message, summary, log)
        else:
            self._apply(parsed, values, summary, stored, log)
        self._report(f"{summary.posted} of {summary.values} values answered")

    def _report(self, detail: str) -> None:
        if self.progress is not None:
            self.progress(detail)

    def _fail(
        self,
        values: Sequence[DataValue],
        code: str | None,
        message: str,
        summary: ChunkSummary,
        log: ConflictLog,
    ) -> None:
        summary.worsen("ERROR")
        summary.posted += len(values)
        summary.rejected += len(values)
        summary.conflicts += 1
        log.add(
            error_code=code,
            message=message,
            object=None,
            property=None,
            values=(v.describe() for v in values),
        )

    def _apply(
        self,
        parsed: DataImportSummary,
        values: Sequence[DataValue],
        summary: ChunkSummary,
        stored: list[DataValue],
        log: ConflictLog,
    ) -> None:
        summary.posted += len(values)
        summary.add_counts(parsed)
        summary.worsen(parsed.status)
        if parsed.status == "ERROR":
            # Header invalid ("Import process was aborted") or an exception: nothing stored.
            first = parsed.conflicts[0] if parsed.conflicts else None
            message = parsed.description or "DHIS2 rejected the whole request"
            if first is not None and first.value and first.value not in message:
                message = f"{message}: {first.value}"
            code = first.error_code if first is not None else None
            if code is None and parsed.web_message:
                code = parsed.web_message.get("errorCode")
            summary.rejected += len(values)
            summary.conflicts += max(1, len(parsed.conflicts))
            log.add(
                error_code=code,
                message=message,
                object=first.object if first is not None else None,
                property=first.property if first is not None else None,
                values=(v.describe() for v in values),
            )
            return
        rejected = {i for i in parsed.rejected_indexes if 0 <= i < len(values)}
        for conflict in parsed.conflicts:
            rows = match_conflict(conflict, values)
            rejected.update(rows)
            log.add_import_conflict(conflict, values, rows)
        summary.conflicts += len(parsed.conflicts)
        summary.rejected += len(rejected)
        if rejected:
            stored.extend(v for i, v in enumerate(values) if i not in rejected)
        else:
            stored.extend(values)

    # ---- one request -------------------------------------------------------------------------

    def _use_async(self, size: int) -> bool:
        if self.async_mode == "auto":
            return size >= self.async_threshold
        return bool(self.async_mode)

    def _post(
        self,
        values: Sequence[DataValue],
        strategy: str,
        summary: ChunkSummary,
        *,
        resend: bool,
        body: bytes | None = None,
    ) -> DataImportSummary:
        use_async = self._use_async(len(values))
        if body is None:
            body = encode_body(values, self.data_set)
        params = self.params(strategy, use_async=use_async)
        response = self._request(body, params, len(values), resend=resend)
        summary.requests += 1
        answer = response.body
        if use_async and response.status_code == 200 and is_job_reference(answer):
            summary.async_jobs += 1
            answer = self._wait(answer)
        try:
            return parse_data_import_summary(answer)
        except UnexpectedResponse as exc:
            raise _ChunkFailed(None, str(exc)) from exc

    def _request(self, body: bytes, params: dict[str, Any], size: int, *, resend: bool) -> Response:
        """One import through the client's retry loop; a failure becomes `_Split`,
        `_ChunkFailed` or `ImportAborted`."""

        def on_failure(failure: Failure) -> Decision:
            kind = _kind(failure.error)
            if kind is _Kind.TRANSIENT:
                retry = True
            elif kind is _Kind.SERVER_ERROR:
                retry = resend and failure.attempt < self.server_error_attempts
            else:
                retry = False
            if not retry:
                return Decision.FAIL
            if not failure.last:
                reason = _reason(failure.error)
                self._report(f"retrying in {failure.wait_seconds:.0f} s after {reason}")
            return Decision.RETRY

        try:
            return self.client.request(
                "POST",
                "dataValueSets",
                params=params,
                content=body,
                headers={"Content-Type": "application/json"},
                ok_statuses=(409,),
                on_failure=on_failure,
            )
        except Dhis2Error as exc:
            raise self._stop(exc, size) from exc

    @staticmethod
    def _stop(exc: Dhis2Error, size: int) -> Exception:
        """The exception that tells `_send_part` (or the engine) what a final failure means."""
        kind = _kind(exc)
        if kind is _Kind.SPLIT:
            if isinstance(exc, PayloadTooLarge):
                message = f"The request with {size} values was too large (HTTP 413)"
                return _Split("HTTP_413", message)
            if isinstance(exc, Dhis2Timeout):
                return _Split("TIMEOUT", f"DHIS2 did not answer in time for {size} values")
            return _Split("HTTP_504", f"The proxy gave up waiting for {size} values (HTTP 504)")
        if kind is _Kind.TRANSIENT:
            return ImportAborted(
                f"The destination did not accept data after {exc.attempts} attempts: "
                f"{_reason(exc)}. Values already accepted are checkpointed; resume the run once "
                "the destination is available again."
            )
        if kind is _Kind.ABORT:
            return ImportAborted(str(exc))
        code = exc.error_code or (f"HTTP_{exc.status_code}" if exc.status_code else None)
        if kind is _Kind.SERVER_ERROR:
            detail = web_message_text(exc.web_message) or "no message"
            message = f"DHIS2 failed with HTTP 500 on these values: {detail}"
            return _Split(code or "HTTP_500", message, server_error=True)
        return _ChunkFailed(code, str(exc))

    def _wait(self, body: Any) -> Any:
        job = parse_job_reference(body)
        stops: list[BaseException] = []

        waiting = f"waiting for DHIS2 import job {job.id}"

        def report(detail: str) -> None:
            try:
                self._report(detail)
            except BaseException as exc:  # a cancellation: never mistaken for a job error
                stops.append(exc)
                raise

        def polled(note: dict[str, Any]) -> None:
            message = note.get("message")
            report(f"{waiting}: {message}" if isinstance(message, str) and message else waiting)

        def pause(seconds: float) -> None:
            # Between any two polls, also while the job has no notification yet and while its
            # summary is not ready, which `on_progress` does not cover.
            report(waiting)
            self.sleep(seconds)

        report(waiting)
        try:
            return wait_for_task(
                self.client,
                job.job_type,
                job.id,
                poll_interval=self.poll_interval,
                timeout=self.job_timeout,
                sleep=pause,
                on_progress=polled,
            )
        except Dhis2Error as exc:
            if exc in stops:
                raise
            if isinstance(exc, JobFailed):
                if exc.summary is not None:
                    return exc.summary
                raise _ChunkFailed("JOB_FAILED", str(exc)) from exc
            if isinstance(exc, Dhis2Timeout):
                raise ImportAborted(str(exc)) from exc
            raise ImportAborted(
                f"Lost track of the destination's import job {job.id}: {exc}"
            ) from exc
