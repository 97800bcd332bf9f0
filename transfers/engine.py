"""Aggregate data transfer engine: the pure core (no Django), driven by the task layer.

`run_transfer(source, destination, spec, observer)`:

1. **Preflight** (`transfers.preflight`): metadata of both instances; problems are logged and
   stop the run (`PreflightFailed`) unless the user allowed them. Nothing is written before.
2. **Fetch** (`transfers.fetch`): `GET /api/dataValueSets` per (org unit block x period) on at
   most `max_concurrency` threads, consumed in plan order; never the whole transfer in memory:
   a block holds as many org units as keep an answer within about `Tuning.values_per_request`
   values (from the data set's form), so memory does not grow with the data set.
3. **Map** (`transfers.mapping`): rows, option combo defaults, attribute combo and org unit
   maps; unmapped values counted per (data element, option combo), sent or skipped. When the
   mapping is many-to-one, a value landing on a destination value an earlier value of the run
   already landed on is not sent but reported (`DUPLICATE_TARGET` conflict, `duplicates`).
4. **Chunk and import** (`transfers.chunking`, `transfers.sending`): chunks of `chunk_size`
   values, split adaptively on 504/413/timeouts, 502/503/network errors retried, summaries of
   every DHIS2 version parsed into counts and conflicts with their values. Up to
   `Tuning.import_concurrency` chunks import at once on threads while the next ones are built;
   their results are taken in chunk order on the run's thread (see `transfers.running`).
5. **Checkpoint**: `observer.chunk_accepted(key, summary)` right after the destination stored
   a whole chunk (not in dry runs). A resumed run passes those keys as `accepted_chunks` and
   sends only the rest; re-sending is harmless anyway (imports are keyed by value identity).
6. **Complete** (`transfers.completion`): registrations for every (org unit, period, attribute
   combo) that stored values, when `mark_complete` (not in dry runs).

**Completeness gate** (`min_completeness`): each fetched block is judged before mapping with
`completeness.compliance.gate_block` against the source data set's structure (read once with
`completeness.assess.read_data_set`); the values of an (org unit, period) whose compliance is
below the minimum are held back (not sent, so never marked complete either) and listed in
`TransferResult.held_back`. It is computed from the values the run fetched anyway, so it needs
every value of a form: an incremental fetch (`last_updated`) would understate compliance, and
the structure is keyed by UIDs, so the gate is refused with the CODE scheme (`validate_spec`).

Observer calls always come from the thread that called `run_transfer` (retry events of the
fetch threads are queued and delivered there), so the observer may use the Django ORM.
`observer.progress` is the run's heartbeat: it is called between all steps that can take long,
inside a chunk too (see `transfers.running`), and what it raises stops the run unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from dhis2.errors import Dhis2Error
from dhis2.retry import RetryEvent

from .conflicts import Conflict
from .mapping import PROFILE_MAPPING_TYPES, MappingRow
from .partial import StoppedMidway
from .preflight import Plan, PreflightProblem, prepare
from .relay import RetryRelay
from .sending import ChunkSummary

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = [
    "STAT_KEYS",
    "ChunkSummary",
    "Conflict",
    "InvalidSpec",
    "MappingRow",
    "Observer",
    "PreflightFailed",
    "PreflightProblem",
    "TransferFailed",
    "TransferResult",
    "TransferSpec",
    "Tuning",
    "preflight",
    "run_transfer",
    "validate_spec",
]

STRATEGIES = ("CREATE_AND_UPDATE", "CREATE", "UPDATE", "DELETE")
STAT_KEYS = (
    "fetched", "sent", "imported", "updated", "ignored", "deleted", "conflicts", "unmapped",
    "chunks", "retries", "splits", "skipped_chunks", "completed_registrations",
    "skipped_values", "requests", "fetch_requests", "deletions_skipped", "duplicates",
    "mapped_by_profile", "held_back_rows", "held_back_values",
)  # fmt: skip


@dataclass
class TransferSpec:
    """What to transfer.

    Identifiers. `data_set`, `target_data_set` and `org_units` are always UIDs. With
    `id_scheme="UID"` values are matched by UID. With `"CODE"` the source is read with
    `idScheme=CODE` (data elements, org units, option combos and attribute option combos come
    back as codes), mapping rows and both maps are written in codes, and imports are posted
    with `idScheme=CODE` so the destination resolves the same codes (`dataSetIdScheme=UID`
    keeps the data set a UID). Objects without a code cannot be matched: preflight lists them
    and their values are skipped, never sent under a guessed identifier.

    * `unmapped`: "send" keeps the identifiers of values without a mapping row, "skip" drops
      them; both are counted in `TransferResult.unmapped`.
    * `accepted_chunks`: checkpoint keys of earlier attempts of this run; those chunks are not
      sent again (in a dry run too, which then shows what is left).
    * `async_import`: False, True, or `"auto"` (async only for chunks of at least
      `Tuning.async_threshold` values, where a synchronous request risks proxy timeouts).
    * `include_deleted`: read soft-deleted source values and delete them on the destination
      (chunks posted with `importStrategy=DELETE`), unless the strategy is CREATE.
    * `last_updated`: incremental lower bound, UTC-aware, already minus the overlap window.
    * `profile_mappings`: the connection profile's accepted mappings, type
      (`mapping.PROFILE_MAPPING_TYPES`) -> source UID -> destination UID, applied where the
      rows and maps do not decide (UID scheme only).
    * `min_completeness`: percent (0-100) of the source data set's elements an (org unit,
      period) must have filled to be sent; None sends every form. Full runs, UID scheme only.
    """

    data_set: str
    target_data_set: str | None
    periods: list[str]
    org_units: list[str]
    include_descendants: bool = True
    mappings: list[MappingRow] = field(default_factory=list)
    attribute_option_combo_map: dict[str, str] = field(default_factory=dict)
    org_unit_map: dict[str, str] = field(default_factory=dict)
    unmapped: str = "send"
    id_scheme: str = "UID"
    import_strategy: str = "CREATE_AND_UPDATE"
    mark_complete: bool = False
    chunk_size: int = 4000
    dry_run: bool = False
    last_updated: datetime | None = None
    continue_on_preflight_problems: bool = False
    async_import: bool | str = False
    max_concurrency: int = 4
    accepted_chunks: frozenset[str] = frozenset()
    include_deleted: bool = False
    profile_mappings: dict[str, dict[str, str]] = field(default_factory=dict)
    min_completeness: float | None = None


class Observer(Protocol):
    """Implemented by the task layer (writes the Run). `progress` may raise to cancel."""

    def log(self, level: str, message: str) -> None: ...
    def progress(self, percent: float, message: str) -> None: ...
    def chunk_accepted(self, key: str, summary: ChunkSummary) -> None: ...
    def retry(self, event: RetryEvent) -> None: ...


@dataclass(frozen=True)
class Tuning:
    """Engine knobs that are not part of a transfer's configuration (tests shrink them)."""

    org_units_per_request: int = 50
    values_per_request: int | None = 5_000
    """About how many values one source answer may hold: requests cover fewer org units than
    `org_units_per_request` when the data set's forms are large (`preflight.
    org_units_per_request`), so the answers in memory at once (one per fetch thread) stay
    bounded whatever the data set. None plans by `org_units_per_request` alone."""
    prefetch: int | None = None
    async_threshold: int = 5000
    async_poll_interval: float = 2.0
    async_timeout: float = 3600.0
    completion_batch: int = 500
    max_conflict_values: int = 1000
    max_held_back_listed: int = 500
    metadata_batch: int = 100
    sleep: Callable[[float], None] = time.sleep
    import_concurrency: int = 3
    """Chunks importing at once (each a disjoint set of values), on threads of their own while
    the run's thread reads, maps and encodes the next ones. 1 sends one chunk at a time on the
    run's own thread, for a destination that struggles with parallel imports."""
    import_beat: float = 1.0
    """Seconds between heartbeats while the run's thread waits for imports in flight."""


@dataclass
class TransferResult:
    """Outcome of a run.

    `server_time` is the source's `serverDate` when the run started, in UTC (None if the source
    did not say): the next incremental watermark, taken from the source's own clock so that
    clock skew between this worker and the source cannot lose changes. Advance the watermark
    only when `all_chunks_accepted` and not `dry_run`: it is False as soon as one chunk failed
    or had a rejected value (those are re-read next time instead of being lost).
    """

    stats: dict[str, int]
    conflicts: list[Conflict]
    unmapped: list[dict[str, Any]]
    preflight: list[PreflightProblem]
    all_chunks_accepted: bool
    server_time: datetime | None
    dry_run: bool = False
    message: str = ""
    profile_mappings_used: list[dict[str, Any]] = field(default_factory=list)
    """`{type, source, destination, count}` per profile mapping that decided an identifier."""
    held_back: list[dict[str, Any]] = field(default_factory=list)
    """`{org_unit, org_unit_name, period, compliance}` per form the completeness gate held back
    (at most `Tuning.max_held_back_listed`; `stats["held_back_rows"]` counts them all)."""


class InvalidSpec(ValueError):
    """The transfer's configuration cannot run as given (the message lists every problem)."""


class PreflightFailed(Exception):
    """Preflight found blocking problems; nothing was written."""

    def __init__(self, problems: list[PreflightProblem], blocking: list[PreflightProblem]) -> None:
        self.problems = problems
        self.blocking = blocking
        lines = "; ".join(f"{i}) {p.message}" for i, p in enumerate(blocking, 1))
        fatal = any(p.severity == "fatal" for p in blocking)
        advice = (
            "The transfer cannot run until this is fixed."
            if fatal
            else "Fix them, or allow the transfer to continue despite preflight problems."
        )
        super().__init__(
            f"Preflight found {len(blocking)} problem(s), nothing was written: {lines}. {advice}"
        )


class TransferFailed(StoppedMidway["TransferResult | None"]):
    """The run stopped midway. `result` holds what was done (stats, conflicts) when known;
    accepted chunks were checkpointed, so resuming sends only the rest."""


def validate_spec(spec: TransferSpec) -> list[str]:
    """Configuration errors, as sentences (empty when the spec can run)."""
    errors = []
    if not spec.data_set:
        errors.append("Choose a data set.")
    if not spec.periods:
        errors.append("Choose at least one period.")
    if not spec.org_units:
        errors.append("Choose at least one org unit.")
    if spec.unmapped not in ("send", "skip"):
        errors.append(f"Unmapped values must be 'send' or 'skip', not {spec.unmapped!r}.")
    if spec.id_scheme not in ("UID", "CODE"):
        errors.append(f"The id scheme must be UID or CODE, not {spec.id_scheme!r}.")
    if spec.import_strategy not in STRATEGIES:
        errors.append(f"The import strategy must be one of {', '.join(STRATEGIES)}.")
    if not 1 <= spec.chunk_size <= 100_000:
        errors.append("The chunk size must be between 1 and 100000 values.")
    if not 1 <= spec.max_concurrency <= 32:
        errors.append("Parallel fetch requests must be between 1 and 32.")
    if spec.async_import not in (True, False, "auto"):
        errors.append("Async import must be on, off or 'auto'.")
    if spec.last_updated is not None and spec.last_updated.tzinfo is None:
        errors.append("The incremental watermark must be timezone-aware (UTC).")
    for row in spec.mappings:
        if not row.source_data_element or not row.target_data_element:
            errors.append("Every mapping row needs a source and a target data element.")
            break
    unknown = sorted(set(spec.profile_mappings) - set(PROFILE_MAPPING_TYPES))
    if unknown:
        errors.append(f"Unknown profile mapping type(s): {', '.join(unknown)}.")
    if spec.profile_mappings and spec.id_scheme != "UID":
        errors.append("Profile mappings are by UID; they cannot apply with the CODE scheme.")
    if spec.min_completeness is not None:
        if not 0 <= spec.min_completeness <= 100:
            errors.append("The minimum completeness must be between 0 and 100 percent.")
        if spec.id_scheme != "UID":
            errors.append("The completeness gate needs the UID scheme.")
        if spec.last_updated is not None:
            errors.append(
                "The completeness gate needs every value of a form: it cannot run incrementally."
            )
    return errors


def _check(spec: TransferSpec) -> None:
    errors = validate_spec(spec)
    if errors:
        raise InvalidSpec(" ".join(errors))


def preflight(
    source: Client, destination: Client, spec: TransferSpec, *, tuning: Tuning | None = None
) -> list[PreflightProblem]:
    """Only the preflight checks (no data read or written). Raises `InvalidSpec` for a bad
    configuration and `Dhis2Error` when an instance cannot be read at all."""
    _check(spec)
    tuning = tuning or Tuning()
    return _prepare(source, destination, spec, tuning).problems


def _prepare(source: Client, destination: Client, spec: TransferSpec, tuning: Tuning) -> Plan:
    return prepare(
        source,
        destination,
        spec,
        per_request=tuning.org_units_per_request,
        batch=tuning.metadata_batch,
        values_per_request=tuning.values_per_request,
    )


def run_transfer(
    source: Client,
    destination: Client,
    spec: TransferSpec,
    observer: Observer,
    *,
    tuning: Tuning | None = None,
) -> TransferResult:
    """Run one transfer (see module docstring). Raises `InvalidSpec`, `PreflightFailed`,
    `TransferFailed` (with the partial result), or whatever `observer.progress` raises."""
    _check(spec)
    tuning = tuning or Tuning()
    relay = RetryRelay(observer)
    with relay.attached(source, destination):
        observer.progress(0.0, "Checking metadata on the source and the destination")
        try:
            plan = _prepare(source, destination, spec, tuning)
        except Dhis2Error as exc:
            raise TransferFailed(f"Preflight could not read the metadata: {exc}", None) from exc
        finally:
            relay.drain()
        for problem in plan.problems:
            level = "warning" if problem.severity == "warning" else "error"
            observer.log(level, f"Preflight: {problem.message}")
        blocking = plan.blocking(spec.continue_on_preflight_problems)
        if blocking:
            raise PreflightFailed(plan.problems, blocking)
        if any(p.severity == "error" for p in plan.problems):
            observer.log("warning", "Continuing despite preflight problems, as allowed.")
        from .running import TransferExecution  # imported here: it builds on these types

        execution = TransferExecution(source, destination, spec, observer, plan, tuning, relay)
        return execution.execute()
