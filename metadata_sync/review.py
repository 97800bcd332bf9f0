"""Turning accepted assessment items into profile mapping rows (pure; no Django).

Only data elements, option combos (split into attribute option combos when their combo is an
attribute combo) and org units become mappings: those are what a data transfer rewrites. An
item can be accepted when it names a destination object (any status but `missing`); an item
whose destination has the same UID needs no mapping row, since transfers send UIDs unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from .match import Status

__all__ = ["ACCEPTABLE", "MappingRow", "mapping_rows", "mapping_type"]

ACCEPTABLE = frozenset(s for s in Status if s != Status.MISSING)


class ItemLike(Protocol):
    type: str
    source_id: str
    destination_id: str
    status: str
    attribute: bool


@dataclass(frozen=True)
class MappingRow:
    type: str  # one of schema.MAPPING_TYPES
    source_id: str
    destination_id: str


def mapping_type(item_type: str, attribute: bool) -> str | None:
    """The mapping type of an item's type, or None when such items are not mapped."""
    if item_type == "categoryOptionCombos":
        return "attributeOptionCombos" if attribute else "categoryOptionCombos"
    if item_type in ("dataElements", "organisationUnits"):
        return item_type
    return None


def mapping_rows(items: Iterable[ItemLike]) -> list[MappingRow]:
    """Mapping rows for accepted `items`; the last row wins for a repeated (type, source)."""
    rows: dict[tuple[str, str], MappingRow] = {}
    for item in items:
        kind = mapping_type(item.type, bool(item.attribute))
        if kind is None or str(item.status) not in ACCEPTABLE or not item.destination_id:
            continue
        if item.destination_id == item.source_id:
            continue
        rows[(kind, item.source_id)] = MappingRow(kind, item.source_id, item.destination_id)
    return list(rows.values())
