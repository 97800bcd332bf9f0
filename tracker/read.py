"""Reading the events of an event program, page by page, from any DHIS2 2.36-2.42.

Which API (`events_api_for`). The new tracker API exists from 2.36, but DHIS2's own Capture apps
moved to it only in 2.39 ("Core apps like web Capture and Android Capture have been using the new
Tracker API since 2.39", community.dhis2.org "Removal of legacy Tracker API endpoints in v42");
legacy `/api/events` was removed in 2.42. So: `/api/tracker/events` from 2.39, `/api/events`
before. Each side of a transfer is decided on its own version.

Envelopes and paging, as read in dhis2-core at the release tags:

* legacy `/api/events` → `{"pager": {...}, "events": [...]}`. With `totalPages=false` (default)
  2.36-2.37 build `new Pager(page, 0, pageSize)` whose constructor clamps `page` to 1 and says
  `pageCount: 0` (`AbstractEventService#getEvents`, `common/Pager.java`); 2.38+ answer a
  `SlimPager {page, pageSize, isLastPage}` (`handleLastPageFlag` reads one extra row).
* `/api/tracker/events` 2.36-2.40 → `PagingWrapper`: pager fields *flat* next to `instances`,
  copied by `Pager.fromLegacy` (page, pageSize, total only with totalPages, next/prevPage which
  the event service never sets): the SlimPager's `isLastPage` is dropped, so there is no
  last-page signal at all.
* 2.41 → `Page.withPager(EVENTS, page)` (the deprecated overload): `{"pager": {page, pageSize},
  page, pageSize, "events": [...]}`, again without next/prev links.
* 2.42 → `{"pager": {page, pageSize, prevPage?, nextPage?}, "events": [...]}`; `nextPage` is set
  exactly when the store returned more than `pageSize` rows (`tracker/Page.java`).

So the reader trusts `nextPage` (2.42), `isLastPage` (legacy 2.38+) and `pageCount` when given,
and otherwise (legacy 2.36-2.37, tracker 2.39-2.41) reads on until a page holds fewer events than
asked for. Paging never follows a `nextPage` link (it names the server's idea of its own host);
the next request is built against our base URL.

Parameters: `ouMode` up to 2.40, `orgUnitMode` from 2.41 (`EventRequestParams`, `ouMode`
deprecated in 2.41 and gone in 2.42); one `orgUnit` per request on both APIs, so several org
units are read one after another, skipping events already yielded for an earlier org unit.
Dates: legacy `endDate` is inclusive (`JdbcEventStore` adds a day); tracker `occurredBefore` up
to 2.41 is a plain `Date` (midnight), so the end day is sent as `<day>T23:59:59.999`.

Every event is yielded in one vocabulary, the new tracker one (`occurredAt`, `scheduledAt`,
`createdAt`, `updatedAt`, `completedAt`), whichever API it came from (`normalise_event`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from dhis2.errors import UnexpectedResponse

if TYPE_CHECKING:
    from dhis2.client import Client
    from dhis2.version import Version

__all__ = [
    "LEGACY",
    "OU_MODES",
    "TRACKER",
    "EventPage",
    "EventQuery",
    "events_api_for",
    "iter_event_pages",
    "normalise_event",
    "page_is_last",
    "page_items",
    "request_params",
]

TRACKER = "tracker"
LEGACY = "legacy"
OU_MODES = ("SELECTED", "CHILDREN", "DESCENDANTS", "ACCESSIBLE")
FIRST_NEW_TRACKER_MAJOR = 39

_TRACKER_FIELDS = (
    "event,status,program,programStage,orgUnit,occurredAt,scheduledAt,completedAt,createdAt,"
    "updatedAt,attributeOptionCombo,attributeCategoryOptions,deleted,geometry,assignedUser,"
    "notes,dataValues[dataElement,value,providedElsewhere]"
)
_LEGACY_FIELDS = (
    "event,status,program,programStage,orgUnit,eventDate,dueDate,completedDate,created,"
    "lastUpdated,attributeOptionCombo,attributeCategoryOptions,deleted,geometry,assignedUser,"
    "notes,dataValues[dataElement,value,providedElsewhere]"
)


def events_api_for(version: Version) -> str:
    """`"tracker"` from 2.39 (and always from 2.42, where legacy is gone), else `"legacy"`."""
    return TRACKER if version.major >= FIRST_NEW_TRACKER_MAJOR else LEGACY


@dataclass(frozen=True)
class EventQuery:
    """Which source events a transfer covers.

    `updated_after` is the incremental lower bound as the source's local wall-clock text
    (`transfers.fetch.last_updated_param`), already widened by the caller's overlap.
    """

    program: str
    program_stage: str | None = None
    org_units: tuple[str, ...] = ()
    ou_mode: str = "DESCENDANTS"
    start_date: date | None = None
    end_date: date | None = None
    updated_after: str | None = None

    def scopes(self) -> list[str | None]:
        """The org units to request one by one (`[None]`: the user's accessible ones)."""
        if self.ou_mode == "ACCESSIBLE" or not self.org_units:
            return [None]
        return list(dict.fromkeys(self.org_units))


@dataclass
class EventPage:
    """One page of events (normalised) with where it came from."""

    events: list[dict[str, Any]]
    org_unit: str | None
    page: int
    last: bool
    skipped_duplicates: int = 0
    raw_count: int = field(default=0)


def request_params(
    query: EventQuery, api: str, version: Version, org_unit: str | None
) -> dict[str, Any]:
    """Query parameters of one events request (names per API and version)."""
    params: dict[str, Any] = {"program": query.program, "programStage": query.program_stage}
    mode = query.ou_mode if query.ou_mode in OU_MODES else "DESCENDANTS"
    if org_unit is not None:
        params["orgUnit"] = org_unit
    if api == LEGACY:
        params["ouMode"] = mode
        params["fields"] = _LEGACY_FIELDS
        if query.start_date:
            params["startDate"] = query.start_date.isoformat()
        if query.end_date:
            params["endDate"] = query.end_date.isoformat()  # inclusive
        if query.updated_after:
            params["lastUpdatedStartDate"] = query.updated_after
        params["totalPages"] = False
    else:
        params["orgUnitMode" if version.major >= 41 else "ouMode"] = mode
        params["fields"] = _TRACKER_FIELDS
        if query.start_date:
            params["occurredAfter"] = query.start_date.isoformat()
        if query.end_date:
            params["occurredBefore"] = f"{query.end_date.isoformat()}T23:59:59.999"
        if query.updated_after:
            params["updatedAfter"] = query.updated_after
    return params


def page_items(body: Any, api: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise UnexpectedResponse(
            f"DHIS2 answered the events request with {type(body).__name__} instead of an object "
            "with an 'events' list; check that the URL points at DHIS2."
        )
    for key in ("events", "instances") if api == TRACKER else ("events",):
        items = body.get(key)
        if isinstance(items, list):
            return [e for e in items if isinstance(e, dict)]
    keys = ", ".join(sorted(body)) or "none"
    raise UnexpectedResponse(
        f"DHIS2 answered the events request without an events list (keys: {keys})."
    )


def page_is_last(
    body: dict[str, Any],
    *,
    next_link_reliable: bool,
    requested_page: int,
    page_size: int,
    count: int,
) -> bool:
    """Whether no page follows this one (see the module docstring for each version).

    `next_link_reliable`: the server sets `nextPage` whenever another page exists (tracker API
    2.42+), so its absence ends the paging even after a full page.
    """
    pager = body.get("pager")
    if not isinstance(pager, dict):
        pager = {k: body[k] for k in ("page", "pageSize", "pageCount", "nextPage") if k in body}
        if not pager:
            return True  # no paging at all: one answer held everything
    if count == 0:
        return True
    last_page = pager.get("isLastPage")
    if isinstance(last_page, bool):
        return last_page
    if pager.get("nextPage"):
        return False
    page_count = pager.get("pageCount")
    page = pager.get("page")
    if isinstance(page_count, int) and page_count > 0 and isinstance(page, int):
        return max(page, requested_page) >= page_count
    if next_link_reliable:
        return True
    return count < page_size


def iter_event_pages(
    client: Client,
    query: EventQuery,
    *,
    api: str | None = None,
    page_size: int = 200,
    max_pages: int = 100_000,
) -> Iterator[EventPage]:
    """Yield the matching events page by page; only one page is held in memory at a time.

    When several org units are read, the UIDs already yielded are remembered (about 60 bytes
    an event) so an overlapping subtree does not send an event twice.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1.")
    version = client.version
    api = api or events_api_for(version)
    path = "tracker/events" if api == TRACKER else "events"
    reliable = api == TRACKER and version.major >= 42
    scopes = query.scopes()
    seen: set[str] | None = set() if len(scopes) > 1 else None
    for org_unit in scopes:
        base = request_params(query, api, version, org_unit)
        for page in range(1, max_pages + 1):
            body = client.get_json(path, params={**base, "page": page, "pageSize": page_size})
            items = page_items(body, api)
            events = []
            skipped = 0
            for raw in items:
                event = normalise_event(raw)
                uid = event.get("event")
                if seen is not None and isinstance(uid, str):
                    if uid in seen:
                        skipped += 1
                        continue
                    seen.add(uid)
                events.append(event)
            last = page_is_last(
                body,
                next_link_reliable=reliable,
                requested_page=page,
                page_size=page_size,
                count=len(items),
            )
            yield EventPage(
                events=events,
                org_unit=org_unit,
                page=page,
                last=last,
                skipped_duplicates=skipped,
                raw_count=len(items),
            )
            if last:
                break
        else:
            raise UnexpectedResponse(
                f"DHIS2 kept answering full pages of events after {max_pages} pages; stopping."
            )


_LEGACY_NAMES = {
    "eventDate": "occurredAt",
    "dueDate": "scheduledAt",
    "created": "createdAt",
    "lastUpdated": "updatedAt",
    "completedDate": "completedAt",
}


def normalise_event(raw: dict[str, Any]) -> dict[str, Any]:
    """An event in new-tracker vocabulary (legacy names renamed; new names kept as they are)."""
    event = {_LEGACY_NAMES.get(k, k): v for k, v in raw.items() if k != "dataValues"}
    for legacy, new in _LEGACY_NAMES.items():
        if new not in event and legacy in raw:
            event[new] = raw[legacy]
    values = []
    for dv in raw.get("dataValues") or []:
        if isinstance(dv, dict):
            values.append({_LEGACY_NAMES.get(k, k): v for k, v in dv.items()})
    event["dataValues"] = values
    return event
