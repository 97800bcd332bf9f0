"""What an event transfer would move, without moving it: counts and a readable sample.

Counts come from `totalPages=true` requests with `pageSize=1` (one count query per configured
org unit, never a full read): `pager.total` (legacy, tracker 2.41+) or the flat `total`
(tracker 2.36-2.40, `PagingWrapper`). Overlapping org units are counted once each, so the total
is their sum and may count an event twice. The sample is the first page of the source's answer
with data element and org unit names looked up once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dhis2.filters import flt_in

from .read import EventQuery, events_api_for, normalise_event, page_items, request_params

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = ["EventPreview", "count_events", "preview_events"]


def _total(body: Any) -> int | None:
    if not isinstance(body, dict):
        return None
    pager = body.get("pager")
    total = (pager if isinstance(pager, dict) else body).get("total")
    return total if isinstance(total, int) and not isinstance(total, bool) else None


def count_events(client: Client, query: EventQuery, *, api: str | None = None) -> dict[str, int]:
    """Matching events per configured org unit (`"*"` for ACCESSIBLE); -1 if the server did
    not give a total."""
    api = api or events_api_for(client.version)
    path = "tracker/events" if api == "tracker" else "events"
    counts: dict[str, int] = {}
    for scope in query.scopes():
        params = request_params(query, api, client.version, scope)
        params.update({"page": 1, "pageSize": 1, "totalPages": True, "fields": "event"})
        total = _total(client.get_json(path, params=params))
        counts[scope or "*"] = -1 if total is None else total
    return counts


@dataclass
class EventPreview:
    count: int | None
    per_org_unit: dict[str, int]
    org_unit_names: dict[str, str]
    sample: list[dict[str, Any]] = field(default_factory=list)
    api: str = "tracker"


def _names(client: Client, resource: str, uids: set[str]) -> dict[str, str]:
    if not uids:
        return {}
    items = client.list_all(resource, fields="id,name", filters=[flt_in("id", sorted(uids))])
    return {i["id"]: i.get("name") or i["id"] for i in items if isinstance(i, dict) and "id" in i}


def preview_events(client: Client, query: EventQuery, *, sample_size: int = 10) -> EventPreview:
    """Counts (total and per configured org unit) and `sample_size` events with their data
    values by data element name (`{"Patient age": "34"}`)."""
    api = events_api_for(client.version)
    counts = count_events(client, query, api=api)
    known = [c for c in counts.values() if c >= 0]
    total = sum(known) if len(known) == len(counts) else None
    path = "tracker/events" if api == "tracker" else "events"
    scope = query.scopes()[0]
    params = request_params(query, api, client.version, scope)
    params.update({"page": 1, "pageSize": sample_size})
    events = [normalise_event(e) for e in page_items(client.get_json(path, params=params), api)]
    de_uids = {dv["dataElement"] for e in events for dv in e["dataValues"] if "dataElement" in dv}
    ou_uids = {e["orgUnit"] for e in events if isinstance(e.get("orgUnit"), str)}
    ou_uids |= {k for k in counts if k != "*"}
    de_names = _names(client, "dataElements", de_uids)
    ou_names = _names(client, "organisationUnits", ou_uids)
    sample = [
        {
            "event": e.get("event"),
            "org_unit": e.get("orgUnit"),
            "org_unit_name": ou_names.get(e.get("orgUnit") or "", e.get("orgUnit")),
            "occurred_at": e.get("occurredAt"),
            "status": e.get("status"),
            "values": {
                de_names.get(dv["dataElement"], dv["dataElement"]): dv.get("value")
                for dv in e["dataValues"]
                if "dataElement" in dv
            },
        }
        for e in events[:sample_size]
    ]
    return EventPreview(
        count=total, per_org_unit=counts, org_unit_names=ou_names, sample=sample, api=api
    )
