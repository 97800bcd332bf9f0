"""Reading data values from the source: request planning, time zones and bounded concurrency.

Requests. One `GET /api/dataValueSets` per (org unit block x period), each answer held in memory
only until its values are chunked. `children=true` makes DHIS2 include the whole subtree of every
listed org unit (`ou.path like '<path>%'` in `SpringDataValueSetStore`), so a small selected
subtree is one request. A subtree with more org units assigned to the data set than
`per_request` is split: its root is fetched alone (explicit `orgUnit`, no `children`) and each
child subtree is planned again. Branches of a split subtree that hold no org unit assigned to the
data set are then not read (values there could not be entered in the data set's forms anyway).
`per_request` itself comes from the data set's form (`preflight.org_units_per_request`): as
many org units as keep one answer within a bounded number of values.

Order. Requests run on a thread pool (`httpx.Client` is thread-safe) but answers are consumed in
plan order, and every answer is sorted by value identity, so chunks and their checkpoint keys do
not depend on which request finished first.

Incremental. `lastUpdated` is compared by the server with its own local time (timestamps are
stored without zone). See `last_updated_param` for the conversion and a DHIS2 quirk it covers.
"""

from __future__ import annotations

import logging
import operator
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dhis2.closing import ClosesOnExit
from dhis2.errors import Dhis2Error

from .mapping import DataValue, values_from_dhis2

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = [
    "FetchFailed",
    "FetchUnit",
    "Fetcher",
    "OrgUnitBlock",
    "SourceClock",
    "fetch_params",
    "last_updated_param",
    "outermost",
    "plan_blocks",
    "source_clock",
]

logger = logging.getLogger("transfers.fetch")


@dataclass(frozen=True)
class OrgUnitBlock:
    """Org units fetched in one request; with `children` each one brings its whole subtree.
    `weight` is the number of data-set org units the block covers (planning only)."""

    org_units: tuple[str, ...]
    children: bool
    weight: int = 0


@dataclass(frozen=True)
class FetchUnit:
    block: OrgUnitBlock
    period: str
    index: int = 0


class FetchFailed(Exception):
    """A source request failed after the client's retries; the message says which one."""

    def __init__(self, message: str, unit: FetchUnit) -> None:
        super().__init__(message)
        self.unit = unit


# ---- planning -----------------------------------------------------------------------------------


def _segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def outermost(roots: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop selected org units that lie inside another selected subtree (first order kept)."""
    ids = {uid for uid, _ in roots}
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for uid, path in roots:
        if uid in seen:
            continue
        seen.add(uid)
        if any(a in ids for a in _segments(path)[:-1]):
            continue
        out.append((uid, path))
    return out


def plan_blocks(
    roots: Sequence[tuple[str, str]],
    assigned: Iterable[tuple[str, str]],
    *,
    include_descendants: bool,
    per_request: int,
) -> list[OrgUnitBlock]:
    """Org unit blocks for the selected `roots` (id, path) given the org units assigned to the
    source data set (id, path). Deterministic for the same input."""
    per_request = max(1, per_request)
    if not include_descendants:
        ids = list(dict.fromkeys(uid for uid, _ in roots))
        return [
            OrgUnitBlock(tuple(ids[i : i + per_request]), False, len(ids[i : i + per_request]))
            for i in range(0, len(ids), per_request)
        ]
    members = sorted((path, _segments(path)) for _, path in assigned if path)
    trees: list[tuple[str, int]] = []
    singles: list[str] = []
    for root, _ in outermost(roots):
        under = [segs for _, segs in members if root in segs]
        _partition(root, under, per_request, trees, singles)
    blocks: list[OrgUnitBlock] = []
    current: list[str] = []
    weight = 0
    for root, size in trees:
        cost = max(size, 1)
        if current and (weight + cost > per_request or len(current) >= per_request):
            blocks.append(OrgUnitBlock(tuple(current), True, weight))
            current, weight = [], 0
        current.append(root)
        weight += cost
    if current:
        blocks.append(OrgUnitBlock(tuple(current), True, weight))
    for i in range(0, len(singles), per_request):
        part = tuple(singles[i : i + per_request])
        blocks.append(OrgUnitBlock(part, False, len(part)))
    return blocks


def _partition(
    root: str,
    members: list[list[str]],
    per_request: int,
    trees: list[tuple[str, int]],
    singles: list[str],
) -> None:
    if len(members) <= per_request:
        trees.append((root, len(members)))
        return
    singles.append(root)
    groups: dict[str, list[list[str]]] = {}
    for segs in members:
        position = segs.index(root)
        if position + 1 < len(segs):
            groups.setdefault(segs[position + 1], []).append(segs)
    for child, sub in groups.items():
        _partition(child, sub, per_request, trees, singles)


def fetch_params(
    *,
    data_set: str,
    unit: FetchUnit,
    id_scheme: str,
    include_deleted: bool,
    last_updated: str | None,
) -> list[tuple[str, str]]:
    """Query of one `GET /api/dataValueSets`. `idScheme` is the output scheme (reference §4);
    `dataSet`/`orgUnit` stay UIDs (input schemes default to UID)."""
    params: list[tuple[str, str]] = [("dataSet", data_set), ("period", unit.period)]
    params.extend(("orgUnit", ou) for ou in unit.block.org_units)
    if unit.block.children:
        params.append(("children", "true"))
    if include_deleted:
        params.append(("includeDeleted", "true"))
    if last_updated:
        params.append(("lastUpdated", last_updated))
    if id_scheme != "UID":
        params.append(("idScheme", id_scheme))
    return params


# ---- time zones ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceClock:
    """The source server's zone and its clock at the start of the transfer (UTC-aware)."""

    tz: tzinfo
    tz_name: str
    server_time: datetime | None


_SERVER_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?")


def _parse_server_date(text: Any) -> datetime | None:
    """`serverDate` is local time without offset (`2024-07-26T18:00:27.695`, reference §1)."""
    if not isinstance(text, str):
        return None
    match = _SERVER_DATE.match(text.strip())
    if not match:
        return None
    day, hh, mm, ss, frac = match.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        base = datetime.fromisoformat(day)
        return base.replace(hour=int(hh), minute=int(mm), second=int(ss or 0), microsecond=micro)
    except ValueError:
        return None


def source_clock(info: dict[str, Any], *, now: datetime | None = None) -> SourceClock:
    """Zone from `serverTimeZoneId`; if absent or unknown, the offset of `serverDate` from our
    UTC clock rounded to 15 minutes; UTC when neither is available."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    local = _parse_server_date(info.get("serverDate"))
    tz: tzinfo | None = None
    name = info.get("serverTimeZoneId")
    if isinstance(name, str) and name.strip():
        try:
            tz = ZoneInfo(name.strip())
            name = name.strip()
        except (ZoneInfoNotFoundError, ValueError):
            tz = None
    if tz is None and local is not None:
        quarter = timedelta(minutes=15)
        offset = round((local - now.replace(tzinfo=None)) / quarter) * quarter
        if abs(offset) <= timedelta(hours=14):
            tz = timezone(offset)
            name = f"UTC{_offset_text(offset)} (from serverDate)"
    if tz is None:
        tz, name = UTC, "UTC (assumed)"
    server_time = local.replace(tzinfo=tz).astimezone(UTC) if local is not None else None
    return SourceClock(tz=tz, tz_name=str(name), server_time=server_time)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def last_updated_param(watermark: datetime, tz: tzinfo) -> str:
    """`lastUpdated` for a UTC watermark: the server's local wall-clock time, no offset.

    DHIS2 parses the parameter in its JVM zone (= `serverTimeZoneId`) and stores `lastupdated`
    as local time without zone. In 2.36-2.41 `SpringDataValueSetStore` then writes the filter as
    `dv.lastupdated >= '<instant as UTC text>+0000'`; PostgreSQL ignores the offset of such a
    literal for a `timestamp without time zone` column, so on servers *behind* UTC the filter
    starts |offset| hours late and would miss changes. The watermark is therefore moved back
    by the server's negative UTC offset (never forward): servers ahead of UTC and fixed stores
    just re-read a few hours, which is harmless because imports are idempotent.
    """
    if watermark.tzinfo is None:
        raise ValueError("The incremental watermark must be timezone-aware (UTC).")
    offset = watermark.astimezone(tz).utcoffset() or timedelta(0)
    widened = watermark - max(timedelta(0), -offset)
    return widened.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S")


# ---- concurrent, ordered fetching ---------------------------------------------------------------


def parse_values(body: Any, unit: FetchUnit) -> list[DataValue]:
    """Values of one answer, sorted by identity. `{"dataValues": []}` is a normal empty answer."""
    if not isinstance(body, dict):
        raise FetchFailed(
            f"The source answered the data value request for period {unit.period} with "
            f"{type(body).__name__} instead of a data value set; check the source URL.",
            unit,
        )
    raw = body.get("dataValues") or []
    if not isinstance(raw, list):
        raise FetchFailed("The source's data value set has no dataValues list.", unit)
    values = values_from_dhis2(raw)
    try:
        # The identity is the first five fields; compared as they are (in C) unless a None
        # meets a text, where `identity` reads None as "" (the same order otherwise).
        return sorted(values, key=_IDENTITY)
    except TypeError:
        values.sort(key=DataValue.identity)
        return values


_IDENTITY = operator.itemgetter(0, 1, 2, 3, 4)


def describe_unit(unit: FetchUnit) -> str:
    shown = ", ".join(unit.block.org_units[:3])
    more = len(unit.block.org_units) - 3
    if more > 0:
        shown += f" and {more} more"
    below = " and below" if unit.block.children else ""
    return f"period {unit.period}, org units {shown}{below}"


class Fetcher(ClosesOnExit):
    """Runs the fetch units on at most `max_concurrency` threads and yields `(unit, values)` in
    plan order. At most `prefetch` answers are in flight or waiting, which bounds memory while
    the consumer is busy posting. Use as a context manager: leaving it cancels what is queued
    and waits for running requests (bounded by the client's timeouts)."""

    def __init__(
        self,
        client: Client,
        units: Sequence[FetchUnit],
        params_for: Callable[[FetchUnit], list[tuple[str, str]]],
        *,
        max_concurrency: int,
        prefetch: int | None = None,
    ) -> None:
        self.client = client
        self.units = units
        self.params_for = params_for
        self.max_concurrency = max(1, max_concurrency)
        # In flight plus answered and waiting: each answer of a large data set can hold tens
        # of thousands of values, so no more than one per thread (memory stays flat).
        self.prefetch = max(self.max_concurrency, prefetch or self.max_concurrency)
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> Fetcher:
        self._pool = ThreadPoolExecutor(
            max_workers=self.max_concurrency, thread_name_prefix="dhis2sync-fetch"
        )
        return self

    def close(self) -> None:
        """Stop the reading threads (what leaving the `with` block calls)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __iter__(self) -> Iterator[tuple[FetchUnit, list[DataValue]]]:
        if self._pool is None:
            raise RuntimeError("Use Fetcher as a context manager.")
        pool = self._pool
        pending: deque[tuple[FetchUnit, Future[list[DataValue]]]] = deque()
        remaining = iter(self.units)

        def fill() -> None:
            while len(pending) < self.prefetch:
                unit = next(remaining, None)
                if unit is None:
                    return
                pending.append((unit, pool.submit(self._fetch, unit)))

        fill()
        while pending:
            unit, future = pending.popleft()
            values = future.result()
            fill()
            yield unit, values

    def _fetch(self, unit: FetchUnit) -> list[DataValue]:
        try:
            response = self.client.request("GET", "dataValueSets", params=self.params_for(unit))
        except Dhis2Error as exc:
            raise FetchFailed(
                f"Could not read data values from the source ({describe_unit(unit)}): {exc}",
                unit,
            ) from exc
        return parse_values(response.body, unit)
