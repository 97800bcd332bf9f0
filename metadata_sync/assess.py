"""Metadata assessment: read both instances and match every source object to the destination.

Reading. Every type of both sides is read in pages of `PAGE_SIZE` (`order=id:asc` keeps pages
stable) with only the fields matching needs (`schema.TypeSpec.assess_fields`), on one pool of
`max_concurrency` requests shared by both sides: the first page of each list says how many pages
follow, and those are then fetched concurrently. Each page is turned into slim dicts
(`match.slim`) as it arrives, so 50,000 org units per side stay small. Progress is reported from
the calling thread as `progress(type, objects_read, objects_total)` (both sides together).

Matching runs type by type in dependency order (`match.match_type`) and hands the items to the
caller's `sink` in batches, so a caller can bulk-insert them without the whole result in
memory; a type's objects are dropped once it is matched.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dhis2.errors import UnexpectedResponse
from dhis2.filters import flt_eq

from .match import (
    DEFAULT_FUZZY_BUDGET,
    DEFAULT_FUZZY_THRESHOLD,
    ItemResult,
    Resolution,
    TypeStats,
    detect_defaults,
    match_type,
    slim,
)
from .schema import DEFAULT_UIDS, SPECS, validate_types

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = [
    "AssessmentResult",
    "Progress",
    "Sink",
    "assess_metadata",
    "read_metadata",
]

logger = logging.getLogger("metadata_sync.assess")

Progress = Callable[[str, int, int], None]
Sink = Callable[[list[ItemResult]], None]
SIDES = ("source", "destination")

#: Objects per list request. With 30 ms per request and DHIS2 re-running the query (count,
#: sort, offset) for every page, 1,000-object pages made 50,000 org units per side ~100
#: requests and most of an assessment's time; 10,000 slim objects are about 1 MB of JSON, so
#: pages stay bounded in memory (unlike ``paging=false``, which DHIS2 also allows here) while
#: 50,000 org units take 5 pages per side, read concurrently.
PAGE_SIZE = 10_000


@dataclass
class AssessmentResult:
    """What an assessment found, besides the items handed to the sink."""

    types: list[str]
    counts: dict[str, dict[str, int]]  # type -> status -> number of source objects
    totals: dict[str, dict[str, int]]  # type -> {"source": n, "destination": n}
    defaults: dict[str, dict[str, str]]  # side -> type -> default object's UID
    resolution: Resolution  # type -> source UID -> destination UID (present objects)
    stats: dict[str, TypeStats] = field(default_factory=dict)


def _page_items(body: Any, type_: str) -> tuple[list[dict[str, Any]], int]:
    """Items and page count of one list answer (no pager: the server did not page)."""
    if not isinstance(body, dict) or not isinstance(body.get(type_), list):
        raise UnexpectedResponse(
            f"DHIS2 answered /api/{type_} without a '{type_}' list; check the user's metadata "
            "read authorities."
        )
    pager = body.get("pager")
    pages = pager.get("pageCount") if isinstance(pager, dict) else None
    return [o for o in body[type_] if isinstance(o, dict)], pages if isinstance(pages, int) else 1


def read_metadata(
    clients: Mapping[str, Client],
    types: Sequence[str],
    *,
    fields: Callable[[str], str] = lambda t: SPECS[t].assess_fields,
    transform: Callable[[str, dict[str, Any]], dict[str, Any]] = slim,
    page_size: int = PAGE_SIZE,
    max_concurrency: int = 4,
    progress: Progress | None = None,
    filters: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Read `types` from every client (`{"source": c1, "destination": c2}`) concurrently.

    Returns `side -> type -> objects` (transformed by `transform`, in UID order). At most
    `max_concurrency` requests are in flight in total. `filters` adds DHIS2 filters per type.
    """
    if page_size < 1 or max_concurrency < 1:
        raise ValueError("page_size and max_concurrency must be at least 1.")
    out: dict[str, dict[str, list[dict[str, Any]]]] = {s: {t: [] for t in types} for s in clients}
    pages: dict[tuple[str, str], dict[int, list[dict[str, Any]]]] = defaultdict(dict)
    read: dict[str, int] = defaultdict(int)
    total: dict[tuple[str, str], int] = {}

    def fetch(side: str, type_: str, page: int) -> tuple[list[dict[str, Any]], int, int]:
        params: dict[str, Any] = {
            "fields": fields(type_),
            "page": page,
            "pageSize": page_size,
            "order": "id:asc",
        }
        if filters and filters.get(type_):
            params["filter"] = list(filters[type_])
        body = clients[side].get_json(type_, params=params)
        items, page_count = _page_items(body, type_)
        pager = body.get("pager") if isinstance(body, dict) else None
        known = pager.get("total") if isinstance(pager, dict) else None
        return (
            [transform(type_, o) for o in items],
            page_count,
            known if isinstance(known, int) else len(items),
        )

    with ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="md-read") as pool:
        running: dict[Future[Any], tuple[str, str, int]] = {}
        for type_ in types:
            for side in clients:
                running[pool.submit(fetch, side, type_, 1)] = (side, type_, 1)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                side, type_, page = running.pop(future)
                items, page_count, known_total = future.result()  # a failure ends the read
                pages[(side, type_)][page] = items
                read[type_] += len(items)
                if page == 1:
                    total[(side, type_)] = known_total
                    for later in range(2, page_count + 1):
                        running[pool.submit(fetch, side, type_, later)] = (side, type_, later)
                if progress is not None:
                    expected = sum(n for (_s, t), n in total.items() if t == type_)
                    progress(type_, read[type_], max(expected, read[type_]))
    for (side, type_), by_page in pages.items():
        out[side][type_] = [o for page in sorted(by_page) for o in by_page[page]]
    return out


def _read_defaults(
    clients: Mapping[str, Client], missing_types: Sequence[str], max_concurrency: int
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The objects named "default" of the default types the assessment does not read anyway."""
    if not missing_types:
        return {side: {} for side in clients}
    return read_metadata(
        clients,
        missing_types,
        fields=lambda _t: "id,code,name",
        max_concurrency=max_concurrency,
        filters={t: [flt_eq("name", "default")] for t in missing_types},
    )


def assess_metadata(
    source: Client,
    destination: Client,
    types: Iterable[str],
    *,
    sink: Sink,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
    max_concurrency: int = 4,
    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
    fuzzy_budget: int = DEFAULT_FUZZY_BUDGET,
    batch_size: int = 2000,
) -> AssessmentResult:
    """Compare the destination with the source for `types` (see the module docstring).

    Items go to `sink` in batches of at most `batch_size`, type by type in dependency order.
    """
    wanted = validate_types(list(types))
    clients = {"source": source, "destination": destination}
    objects = read_metadata(
        clients,
        wanted,
        page_size=page_size,
        max_concurrency=max_concurrency,
        progress=progress,
    )
    extra = _read_defaults(clients, [t for t in DEFAULT_UIDS if t not in wanted], max_concurrency)
    defaults = {side: detect_defaults({**extra.get(side, {}), **objects[side]}) for side in SIDES}
    resolution: Resolution = {}
    counts: dict[str, dict[str, int]] = {}
    totals: dict[str, dict[str, int]] = {}
    stats: dict[str, TypeStats] = {}
    for type_ in wanted:
        src = objects["source"].pop(type_)
        dst = objects["destination"].pop(type_)
        items, stats[type_] = match_type(
            type_,
            src,
            dst,
            resolution=resolution,
            assessed=wanted,
            defaults=(defaults["source"], defaults["destination"]),
            fuzzy_threshold=fuzzy_threshold,
            fuzzy_budget=fuzzy_budget,
        )
        totals[type_] = {"source": len(src), "destination": len(dst)}
        del src, dst
        per_status: dict[str, int] = defaultdict(int)
        for item in items:
            per_status[str(item.status)] += 1
        counts[type_] = dict(sorted(per_status.items()))
        for start in range(0, len(items), batch_size):
            sink(items[start : start + batch_size])
        if stats[type_].fuzzy_skipped:
            logger.info(
                "%s: %d objects got no fuzzy suggestion (comparison budget spent)",
                type_,
                stats[type_].fuzzy_skipped,
            )
    for type_ in DEFAULT_UIDS:  # a sync references the defaults even when not assessed
        src_default = defaults["source"].get(type_)
        dst_default = defaults["destination"].get(type_)
        if src_default and dst_default:
            resolution.setdefault(type_, {})[src_default] = dst_default
    return AssessmentResult(
        types=wanted,
        counts=counts,
        totals=totals,
        defaults=defaults,
        resolution=resolution,
        stats=stats,
    )
