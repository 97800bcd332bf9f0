"""Import conflicts: matching DHIS2's conflict entries to the values that caused them, and
grouping them across chunks for the run's conflicts table.

* 2.37+ conflicts carry `indexes`: 0-based rows of the posted `dataValues` (dhis2-core PR
  #8237); equal conflicts are grouped server-side. Those are exact.
* ≤2.36 conflicts are `{object, value}` only. `object` is usually a UID/code (the unknown data
  element, org unit, option combo or period) and sometimes the rejected value itself (the
  android fixture's `{"object": "40L", "value": "Data value is not a positive integer, must
  match data element type: vANAXwtLwcT"}`). Those are matched best-effort: every value of the
  request whose identifiers or value equal `object`, narrowed to the values whose data element,
  org unit or option combo the message names as a word, when that leaves any. This can
  over-report (a type error on one value of an element named in `object` marks all its values
  in the request, and a value with two problems is listed under both) but never hides a
  rejected value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dhis2.imports import ImportConflict

from .mapping import DataValue

__all__ = ["MAX_FIELD", "Conflict", "ConflictLog", "clip", "match_conflict"]

_WORD = re.compile(r"[A-Za-z0-9_.\-]+")

MAX_FIELD = 100
"""Longest `object`/`property` a conflict keeps: ≤2.36 servers can put the rejected value
itself (any length of text) into `object`, and the conflicts table shows them in a column."""


def clip(text: str | None, limit: int = MAX_FIELD) -> str | None:
    """`text` cut to `limit` characters, the last one an ellipsis when something was cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


@dataclass
class Conflict:
    """One conflict group of the run: same error code, object, property and message.

    `values` are the offending data values as sent (`dataElement, period, orgUnit,
    categoryOptionCombo, attributeOptionCombo, value`) or, for completeness registrations,
    `dataSet, period, orgUnit, attributeOptionCombo`. At most `ConflictLog.max_values` are
    kept per group; `count` is the true number (0 values + count 1 when DHIS2 did not say
    which values it meant).
    """

    error_code: str | None
    message: str
    object: str | None
    property: str | None
    values: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    kind: str = "data_value"

    def as_dict(self) -> dict[str, Any]:
        return {
            "error_code": self.error_code,
            "message": self.message,
            "object": self.object,
            "property": self.property,
            "values": list(self.values),
            "count": self.count,
            "kind": self.kind,
        }


def match_conflict(conflict: ImportConflict, values: Sequence[DataValue]) -> list[int]:
    """Rows of `values` (as posted) that `conflict` refers to (see module docstring)."""
    if conflict.indexes:
        return sorted({i for i in conflict.indexes if 0 <= i < len(values)})
    target = conflict.object
    if not target:
        return []
    hits = [
        i
        for i, v in enumerate(values)
        if target in (v.data_element, v.org_unit, v.category_option_combo, v.period)
        or target == v.attribute_option_combo
        or target == v.value
    ]
    if len(hits) > 1 and conflict.value:
        words = set(_WORD.findall(conflict.value))
        narrowed = [
            i
            for i in hits
            if any(
                ident and ident != target and ident in words
                for ident in (
                    values[i].data_element,
                    values[i].org_unit,
                    values[i].category_option_combo,
                )
            )
        ]
        if narrowed:
            return narrowed
    return hits


class ConflictLog:
    """Conflicts of a run, merged by (kind, error code, object, property, message).

    Every conflict goes through `add`, which clips `object` and `property` to `MAX_FIELD`
    characters, so no caller can store an unbounded rejected value there.
    """

    def __init__(self, max_values: int = 1000) -> None:
        self.max_values = max_values
        self._groups: dict[tuple[Any, ...], Conflict] = {}

    def add(
        self,
        *,
        error_code: str | None,
        message: str,
        object: str | None,
        property: str | None,
        values: Iterable[dict[str, Any]],
        kind: str = "data_value",
    ) -> Conflict:
        object, property = clip(object), clip(property)
        key = (kind, error_code, object, property, message)
        group = self._groups.get(key)
        if group is None:
            group = Conflict(error_code, message, object, property, kind=kind)
            self._groups[key] = group
        added = 0
        for value in values:
            added += 1
            if len(group.values) < self.max_values:
                group.values.append(value)
        group.count += max(added, 1)
        return group

    def add_import_conflict(
        self, conflict: ImportConflict, values: Sequence[DataValue], rows: Sequence[int]
    ) -> None:
        self.add(
            error_code=conflict.error_code,
            message=conflict.value or "DHIS2 reported a conflict without a message.",
            object=conflict.object,
            property=conflict.property,
            values=(values[i].describe() for i in rows),
        )

    def absorb(self, other: ConflictLog) -> None:
        """Add the groups of `other` (a chunk's own log) to this one, in their order, with
        their true counts; values past `max_values` per group are dropped as in `add`."""
        for group in other._groups.values():
            key = (group.kind, group.error_code, group.object, group.property, group.message)
            mine = self._groups.get(key)
            if mine is None:
                mine = Conflict(
                    group.error_code, group.message, group.object, group.property, kind=group.kind
                )
                self._groups[key] = mine
            room = max(0, self.max_values - len(mine.values))
            mine.values.extend(group.values[:room])
            mine.count += group.count

    @property
    def conflicts(self) -> list[Conflict]:
        return list(self._groups.values())

    @property
    def total(self) -> int:
        """Offending values (or conflict entries when the values are unknown)."""
        return sum(c.count for c in self._groups.values())
