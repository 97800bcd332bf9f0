"""Event storage helpers shared by the legacy ``/api/events`` and the new ``/api/tracker``.

Events are stored in the new tracker vocabulary (``occurredAt``, ``scheduledAt``, ``createdAt``,
``updatedAt``, ``completedAt``) and rendered in either dialect.

DHIS2 keeps event dates as timestamps: a date sent as ``"2026-11-30"`` reads back as
``"2026-11-30T00:00:00.000"`` (server time, no offset) from both APIs, as ``occurredAt`` /
``scheduledAt`` / ``completedAt`` (``tracker-events-get-pager.docs-2.41.json``) and as
``eventDate`` / ``dueDate`` / ``completedDate`` (``events-legacy-get-pager.android-fixture.json``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from simulator.state import State

EVENT_DATE_FIELDS = ("occurredAt", "scheduledAt", "completedAt")


def event_timestamp(value: Any) -> Any:
    """A sent event date as DHIS2 stores and returns it: ``yyyy-MM-ddTHH:mm:ss.SSS`` in server
    time (UTC here); an offset is converted. Anything unparsable is returned unchanged."""
    if not isinstance(value, str) or not value.strip():
        return value
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) > 5 and text[-5] in "+-" and text[-4:].isdigit() and "T" in text:
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 -> +00:00
    try:
        parsed = datetime.fromisoformat(text) if "T" in text else None
        if parsed is None:
            day = date.fromisoformat(text)
            parsed = datetime(day.year, day.month, day.day)
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}"


def legacy_view(e: dict[str, Any]) -> dict[str, Any]:
    """``/api/events`` JSON (``events-legacy-get-pager.android-fixture.json``)."""
    e = {**e, **{k: event_timestamp(e.get(k)) for k in EVENT_DATE_FIELDS}}
    out: dict[str, Any] = {
        "event": e["event"],
        "program": e["program"],
        "programStage": e["programStage"],
        "orgUnit": e["orgUnit"],
        "status": e["status"],
        "eventDate": e.get("occurredAt"),
        "dueDate": e.get("scheduledAt"),
        "created": e.get("createdAt"),
        "lastUpdated": e.get("updatedAt"),
        "completedDate": e.get("completedAt"),
        "storedBy": e.get("storedBy"),
        "attributeOptionCombo": e.get("attributeOptionCombo"),
        "attributeCategoryOptions": e.get("attributeCategoryOptions"),
        "deleted": e.get("deleted", False),
        "dataValues": [
            {
                "dataElement": v["dataElement"],
                "value": v["value"],
                "created": v.get("createdAt"),
                "lastUpdated": v.get("updatedAt"),
                "storedBy": v.get("storedBy"),
                "providedElsewhere": v.get("providedElsewhere", False),
            }
            for v in e.get("dataValues", [])
        ],
        "notes": list(e.get("notes", [])),
    }
    if e.get("geometry"):
        out["geometry"] = e["geometry"]
    return {k: v for k, v in out.items() if v is not None}


def tracker_view(e: dict[str, Any]) -> dict[str, Any]:
    """``/api/tracker/events`` JSON (``tracker-events-get-pager.docs-2.41.json``)."""
    e = {**e, **{k: event_timestamp(e.get(k)) for k in EVENT_DATE_FIELDS}}
    out: dict[str, Any] = {
        "event": e["event"],
        "status": e["status"],
        "program": e["program"],
        "programStage": e["programStage"],
        "orgUnit": e["orgUnit"],
        "occurredAt": e.get("occurredAt"),
        "scheduledAt": e.get("scheduledAt"),
        "storedBy": e.get("storedBy"),
        "followUp": False,
        "deleted": e.get("deleted", False),
        "createdAt": e.get("createdAt"),
        "updatedAt": e.get("updatedAt"),
        "completedAt": e.get("completedAt"),
        "attributeOptionCombo": e.get("attributeOptionCombo"),
        "attributeCategoryOptions": e.get("attributeCategoryOptions"),
        "geometry": e.get("geometry"),
        "dataValues": [
            {
                "createdAt": v.get("createdAt"),
                "updatedAt": v.get("updatedAt"),
                "storedBy": v.get("storedBy"),
                "providedElsewhere": v.get("providedElsewhere", False),
                "dataElement": v["dataElement"],
                "value": v["value"],
            }
            for v in e.get("dataValues", [])
        ],
        "notes": list(e.get("notes", [])),
    }
    return {k: v for k, v in out.items() if v is not None}


def select_events(
    state: State,
    *,
    program: str | None,
    program_stage: str | None,
    org_unit: str | None,
    ou_mode: str,
    occurred_after: str | None = None,
    occurred_before: str | None = None,
    updated_after: str | None = None,
    updated_before: str | None = None,
    status: str | None = None,
    include_deleted: bool = False,
    event_ids: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Filter stored events; newest ``occurredAt`` first (then by UID)."""
    ous: set[str] | None = None
    if org_unit:
        mode = ou_mode.upper()
        if mode in ("DESCENDANTS",):
            ous = set(state.descendants(org_unit))
        elif mode == "CHILDREN":
            ous = {org_unit, *state.derived.children.get(org_unit, [])}
        elif mode in ("ALL", "ACCESSIBLE", "CAPTURE"):
            ous = None
        else:
            ous = {org_unit}
    out = []
    for e in state.events.values():
        if e.get("deleted") and not include_deleted:
            continue
        if program and e["program"] != program:
            continue
        if program_stage and e["programStage"] != program_stage:
            continue
        if ous is not None and e["orgUnit"] not in ous:
            continue
        if event_ids is not None and e["event"] not in event_ids:
            continue
        if status and e["status"] != status:
            continue
        occurred = (e.get("occurredAt") or "")[:10]
        if occurred_after and occurred < occurred_after[:10]:
            continue
        if occurred_before and occurred > occurred_before[:10]:
            continue
        updated = e.get("updatedAt") or ""
        if updated_after and updated < updated_after:
            continue
        if updated_before and updated > updated_before:
            continue
        out.append(e)
    out.sort(key=lambda e: (e.get("occurredAt") or "", e["event"]), reverse=True)
    return out
