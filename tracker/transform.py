"""Turning a source event into the smallest payload the destination accepts.

Kept: the event UID (so a rerun updates the same event instead of creating a second one), the
program, stage, org unit, status, dates, attribute option combo and the data values. Mapped:
program, program stage, data elements, org units and attribute option combos, where the
destination uses other UIDs (unmapped identifiers pass unchanged; the destination then reports
the event). Dropped: everything the server manages itself (`createdAt`, `updatedAt`,
`storedBy`, `deleted`, `followUp`, `href`, the data values' own timestamps) and
`attributeCategoryOptions`, which DHIS2 derives from the attribute option combo and which would
contradict a mapped combo. Optional (`strip`): `notes`, `assigned_user`, `coordinates`
(`geometry`), for destinations that do not have the user, refuse a feature type, or should not
get free-text notes.

The result is in the destination's dialect: new tracker names (`occurredAt`, ...) for
`POST /api/tracker`, legacy names (`eventDate`, `dueDate`, `completedDate`) for `/api/events`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .read import LEGACY, TRACKER

__all__ = ["STRIPPABLE", "EventMappings", "event_payload"]

STRIPPABLE = ("notes", "assigned_user", "coordinates")


@dataclass(frozen=True)
class EventMappings:
    """Source UID → destination UID per kind of object (only those that differ)."""

    program: dict[str, str] = field(default_factory=dict)
    program_stage: dict[str, str] = field(default_factory=dict)
    data_element: dict[str, str] = field(default_factory=dict)
    org_unit: dict[str, str] = field(default_factory=dict)
    attribute_option_combo: dict[str, str] = field(default_factory=dict)

    KINDS = ("program", "program_stage", "data_element", "org_unit", "attribute_option_combo")

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> EventMappings:
        """From the saved JSON `{"program": {...}, "data_element": {...}, ...}`."""
        raw = raw or {}
        unknown = sorted(set(raw) - set(cls.KINDS))
        if unknown:
            raise ValueError(
                f"Unknown mapping kind(s): {', '.join(unknown)}; use {', '.join(cls.KINDS)}."
            )
        pairs = {k: {str(a): str(b) for a, b in (raw.get(k) or {}).items()} for k in cls.KINDS}
        return cls(**pairs)

    def merged_over(self, base: EventMappings) -> EventMappings:
        """These mappings on top of `base` (e.g. a transfer's own rows over the profile's)."""
        return EventMappings(**{k: {**getattr(base, k), **getattr(self, k)} for k in self.KINDS})


def _mapped(mapping: dict[str, str], value: Any) -> Any:
    return mapping.get(value, value) if isinstance(value, str) else value


def _notes(raw: Any, dialect: str) -> list[dict[str, Any]]:
    notes = []
    for note in raw or []:
        if not isinstance(note, dict) or not note.get("value"):
            continue
        out: dict[str, Any] = {"value": note["value"]}
        if note.get("note"):
            out["note"] = note["note"]  # same UID on a rerun: not added twice
        if dialect == TRACKER and note.get("storedAt"):
            out["storedAt"] = note["storedAt"]
        notes.append(out)
    return notes


def _user_uid(raw: Any) -> str | None:
    """`assignedUser` is a UID in legacy JSON, a `{uid, username, ...}` object in tracker JSON."""
    if isinstance(raw, str) and raw:
        return raw
    if isinstance(raw, dict):
        uid = raw.get("uid") or raw.get("id")
        return uid if isinstance(uid, str) else None
    return None


def event_payload(
    event: dict[str, Any],
    *,
    mappings: EventMappings | None = None,
    strip: Iterable[str] = (),
    dialect: str = TRACKER,
) -> dict[str, Any]:
    """The payload for one (normalised, see `tracker.read.normalise_event`) source event."""
    if dialect not in (TRACKER, LEGACY):
        raise ValueError(f"Unknown events dialect {dialect!r}.")
    m = mappings or EventMappings()
    stripped = set(strip)
    unknown = stripped - set(STRIPPABLE)
    if unknown:
        raise ValueError(f"Cannot strip {', '.join(sorted(unknown))}; choose from {STRIPPABLE}.")
    names = (
        {"occurred": "occurredAt", "scheduled": "scheduledAt", "completed": "completedAt"}
        if dialect == TRACKER
        else {"occurred": "eventDate", "scheduled": "dueDate", "completed": "completedDate"}
    )
    out: dict[str, Any] = {
        "event": event.get("event"),
        "program": _mapped(m.program, event.get("program")),
        "programStage": _mapped(m.program_stage, event.get("programStage")),
        "orgUnit": _mapped(m.org_unit, event.get("orgUnit")),
        "status": event.get("status") or "ACTIVE",
        names["occurred"]: event.get("occurredAt"),
        names["scheduled"]: event.get("scheduledAt"),
    }
    if out["status"] == "COMPLETED" and event.get("completedAt"):
        out[names["completed"]] = event["completedAt"]
    aoc = event.get("attributeOptionCombo")
    if aoc:
        out["attributeOptionCombo"] = _mapped(m.attribute_option_combo, aoc)
    if "coordinates" not in stripped and event.get("geometry"):
        out["geometry"] = event["geometry"]
    if "assigned_user" not in stripped:
        user = _user_uid(event.get("assignedUser"))
        if user:
            # The tracker API (2.38+ `tracker.domain.Event`) takes a User object, legacy a UID.
            out["assignedUser"] = {"uid": user} if dialect == TRACKER else user
    if "notes" not in stripped:
        notes = _notes(event.get("notes"), dialect)
        if notes:
            out["notes"] = notes
    values = []
    for dv in event.get("dataValues") or []:
        if not isinstance(dv, dict) or not dv.get("dataElement") or dv.get("value") is None:
            continue
        value: dict[str, Any] = {
            "dataElement": _mapped(m.data_element, dv["dataElement"]),
            "value": dv["value"],
        }
        if dv.get("providedElsewhere"):
            value["providedElsewhere"] = True
        values.append(value)
    out["dataValues"] = values
    return {k: v for k, v in out.items() if v is not None}
