"""Mapping source data values to destination identifiers.

Identifiers are whatever the transfer's id scheme says: UIDs with `id_scheme="UID"`, codes with
`id_scheme="CODE"` (values are then exported with `idScheme=CODE`, so the mapping rows, the
attribute option combo map and the org unit map are written in codes too).

Lookup order for each value (first hit wins):

1. a row for exactly (data element, category option combo);
2. a row for the data element with no source option combo ("any combo of this element");
3. the connection profile's accepted mappings (`profile_mappings`, from a metadata review),
   when the transfer uses them: data element by data element, option combos, attribute option
   combos and org units each by their own table. The transfer's rows and maps always win;
   the profile only fills in what they do not cover. Values so mapped are counted
   (`mapped_by_profile`, and per profile mapping in `profile_report`);
4. the unmapped policy: ``"send"`` keeps the identifiers unchanged, ``"skip"`` drops the value.
   Both are counted per (data element, option combo), never silently.

A review writes no profile mapping for an object with the same UID on both sides (it is sent
unchanged anyway), so with ``"skip"`` a data element is "mapped" only by a transfer row or a
profile mapping that renames it.

When the row leaves the target option combo empty, the value keeps its own combo. The default
category option combo has a fixed UID on databases created by DHIS2 (`HllvX50cXC0`) but other
UIDs on old databases (reference §10, `bRowv6yZOF2`), so the source default is always translated
to the destination default, for option combos and attribute option combos alike.

Rows and maps need not be one-to-one: two source objects may land on one destination object
(two org units merged, all option combos of an element collapsed into one). Their values would
then overwrite each other on the destination. `Mapper.collisions` finds such targets on the
metadata (preflight warns about them) and `DuplicateGuard` stops the later values at run time.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

__all__ = [
    "NO_CODE",
    "PROFILE_MAPPING_TYPES",
    "Collisions",
    "DataValue",
    "DuplicateGuard",
    "Mapper",
    "MappingRow",
    "duplicate_rows",
    "payload_rows",
]

NO_CODE = "(no identifier)"
"""Shown for a value whose object has no code on the source (CODE scheme exports null)."""

PROFILE_MAPPING_TYPES = (
    "dataElements",
    "categoryOptionCombos",
    "attributeOptionCombos",
    "organisationUnits",
)
"""The kinds of a profile's mappings (`metadata_sync.schema.MAPPING_TYPES`, repeated here
because the engine imports no app): type -> source UID -> destination UID."""

Pair = tuple[str, str | None]
"""(data element, category option combo)."""
_K = TypeVar("_K", bound=Hashable)


@dataclass(frozen=True)
class MappingRow:
    """One mapping row. `None` source combo = any combo of that element; `None` target combo =
    keep the value's combo (with the default combo translated)."""

    source_data_element: str
    source_category_option_combo: str | None
    target_data_element: str
    target_category_option_combo: str | None


class DataValue(NamedTuple):
    """One data value, as exported by `GET /api/dataValueSets` or as it will be posted.

    A tuple (not a dict) because a transfer holds a chunk of them at a time and hashes them for
    checkpoint keys. `comment` is None when empty; `followup` only matters when True (see
    `to_payload`); `deleted` is set only when the source was asked for `includeDeleted`.
    """

    data_element: str | None
    period: str
    org_unit: str | None
    category_option_combo: str | None
    attribute_option_combo: str | None
    value: str | None
    comment: str | None = None
    followup: bool = False
    deleted: bool = False

    @classmethod
    def from_dhis2(cls, raw: Mapping[str, Any]) -> DataValue:
        """Parse one exported value. The export writes `value` as a string and nulls
        explicitly (`"comment": null` in 2.40, `""` in other versions: reference §4)."""
        value = raw.get("value")
        comment = raw.get("comment")
        return cls(
            data_element=_text(raw.get("dataElement")),
            period=str(raw.get("period") or ""),
            org_unit=_text(raw.get("orgUnit")),
            category_option_combo=_text(raw.get("categoryOptionCombo")),
            attribute_option_combo=_text(raw.get("attributeOptionCombo")),
            value=None if value is None else str(value),
            comment=comment if isinstance(comment, str) and comment.strip() else None,
            followup=raw.get("followup") is True,
            deleted=raw.get("deleted") is True,
        )

    def identity(self) -> tuple[str, str, str, str, str]:
        """What DHIS2 keys a stored value by (absent combos read as "")."""
        return (
            self.data_element or "",
            self.period,
            self.org_unit or "",
            self.category_option_combo or "",
            self.attribute_option_combo or "",
        )

    def to_payload(self) -> dict[str, Any]:
        """The value as posted to `/api/dataValueSets`.

        Neither `storedBy`, `created` nor `lastUpdated` is sent: DHIS2 would keep a posted
        `lastUpdated` (`DataValueSetImporter#createDataValue`), which would hide the transfer
        from the destination's own incremental consumers and audit. `followup` is sent only
        when true, so a flag set by a destination user is never cleared by a transfer.
        """
        out: dict[str, Any] = {
            "dataElement": self.data_element,
            "period": self.period,
            "orgUnit": self.org_unit,
        }
        if self.category_option_combo:
            out["categoryOptionCombo"] = self.category_option_combo
        if self.attribute_option_combo:
            out["attributeOptionCombo"] = self.attribute_option_combo
        out["value"] = self.value
        if self.comment:
            out["comment"] = self.comment
        if self.followup:
            out["followup"] = True
        return out

    def describe(self) -> dict[str, Any]:
        """The value for a conflicts table (identifiers as sent, the value, no comment)."""
        return {
            "dataElement": self.data_element,
            "period": self.period,
            "orgUnit": self.org_unit,
            "categoryOptionCombo": self.category_option_combo,
            "attributeOptionCombo": self.attribute_option_combo,
            "value": self.value,
        }


def payload_rows(values: Iterable[DataValue]) -> list[dict[str, Any]]:
    """`[v.to_payload() for v in values]` without a method call per value (the import hot
    path builds one of these per chunk); the rows are the same as `to_payload`'s."""
    rows: list[dict[str, Any]] = []
    append = rows.append
    for de, pe, ou, coc, aoc, value, comment, followup, _ in values:
        if coc and aoc and not comment and not followup:  # most values: one dict display
            append(
                {
                    "dataElement": de,
                    "period": pe,
                    "orgUnit": ou,
                    "categoryOptionCombo": coc,
                    "attributeOptionCombo": aoc,
                    "value": value,
                }
            )
            continue
        row: dict[str, Any] = {"dataElement": de, "period": pe, "orgUnit": ou}
        if coc:
            row["categoryOptionCombo"] = coc
        if aoc:
            row["attributeOptionCombo"] = aoc
        row["value"] = value
        if comment:
            row["comment"] = comment
        if followup:
            row["followup"] = True
        append(row)
    return rows


_MISSING: Any = object()
_new_value = tuple.__new__
"""Builds a `DataValue` from all its fields without the keyword handling of its `__new__`."""


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def values_from_dhis2(items: Iterable[Any]) -> list[DataValue]:
    """`[DataValue.from_dhis2(i) for i in items if isinstance(i, dict)]`, at a fraction of the
    cost: the fetch parses every value of a transfer through here.

    An export repeats a few hundred identifiers and periods over tens of thousands of values,
    so their clean-up (`_text`, the period's `str`) is remembered per distinct text instead of
    repeated, which also makes all values share one string object per identifier rather than
    keep the decoder's copy each (most of a decoded value's memory). Only texts are
    remembered (`1`, `1.0` and `True` are equal keys, but their texts differ); anything
    unexpected takes `from_dhis2` itself, so the values are exactly the same.
    """
    ids: dict[Any, str | None] = {None: None}
    periods: dict[Any, str] = {None: ""}
    out: list[DataValue] = []
    append = out.append
    for item in items:
        if item.__class__ is not dict:
            if isinstance(item, dict):
                append(DataValue.from_dhis2(item))
            continue
        get = item.get
        try:
            de = ids[get("dataElement")]
            ou = ids[get("orgUnit")]
            coc = ids[get("categoryOptionCombo")]
            aoc = ids[get("attributeOptionCombo")]
            pe = periods[get("period")]
        except (KeyError, TypeError):  # met for the first time, or not a text at all
            _remember(item, ids, periods)
            append(DataValue.from_dhis2(item))
            continue
        value = get("value")
        if value.__class__ is not str and value is not None:
            value = str(value)
        comment = get("comment")
        if comment is not None and not (isinstance(comment, str) and comment.strip()):
            comment = None
        followup = get("followup") is True
        deleted = get("deleted") is True
        append(_new_value(DataValue, (de, pe, ou, coc, aoc, value, comment, followup, deleted)))
    return out


def _remember(item: Mapping[str, Any], ids: dict[Any, str | None], periods: dict[Any, str]) -> None:
    """Add the identifiers and period of `item` that are texts to the memos."""
    for name in ("dataElement", "orgUnit", "categoryOptionCombo", "attributeOptionCombo"):
        raw = item.get(name)
        if raw.__class__ is str:
            ids[raw] = _text(raw)
    period = item.get("period")
    if period.__class__ is str:
        periods[period] = period or ""


def duplicate_rows(rows: Iterable[MappingRow]) -> list[tuple[str, str | None]]:
    """Source keys (data element, combo) that appear in more than one row (the first wins)."""
    seen: Counter[tuple[str, str | None]] = Counter(
        (r.source_data_element, r.source_category_option_combo) for r in rows
    )
    return [key for key, count in seen.items() if count > 1]


class Mapper:
    """Maps `DataValue`s from source to destination identifiers and counts the unmapped ones.

    `require_combos` (CODE scheme): a value without option combo identifiers had combos
    without codes on the source and is skipped, never sent as the default combo.
    Not thread-safe: the engine maps on the thread that consumes the fetched pages.
    """

    def __init__(
        self,
        rows: Iterable[MappingRow],
        *,
        attribute_option_combo_map: Mapping[str, str] | None = None,
        org_unit_map: Mapping[str, str] | None = None,
        unmapped: str = "send",
        source_default_coc: str | None = None,
        destination_default_coc: str | None = None,
        require_combos: bool = False,
        profile_mappings: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        if unmapped not in ("send", "skip"):
            raise ValueError(f"Unmapped policy must be 'send' or 'skip', not {unmapped!r}.")
        self._exact: dict[tuple[str, str], MappingRow] = {}
        self._any: dict[str, MappingRow] = {}
        for row in rows:
            if row.source_category_option_combo:
                key = (row.source_data_element, row.source_category_option_combo)
                self._exact.setdefault(key, row)
            else:
                self._any.setdefault(row.source_data_element, row)
        self._aoc_map = dict(attribute_option_combo_map or {})
        self._ou_map = dict(org_unit_map or {})
        self.send_unmapped = unmapped == "send"
        self.source_default = source_default_coc
        self.destination_default = destination_default_coc
        self.require_combos = require_combos
        profile = profile_mappings or {}
        self._p_de = dict(profile.get("dataElements") or {})
        self._p_coc = dict(profile.get("categoryOptionCombos") or {})
        self._p_aoc = dict(profile.get("attributeOptionCombos") or {})
        self._p_ou = dict(profile.get("organisationUnits") or {})
        #: Values a profile mapping changed at least one identifier of.
        self.mapped_by_profile = 0
        #: (type, source, destination) -> values it applied to.
        self.profile_used: Counter[tuple[str, str, str]] = Counter()
        # (data element, combo, identified): identified=False when the source sent no identifier.
        self.unmapped: Counter[tuple[str, str, bool]] = Counter()
        # Memos of the lookups `map` does per value, filled as identifiers are met: there are
        # as many entries as distinct source objects (metadata), not values.
        self._targets: dict[tuple[str | None, str | None], tuple[str, str | None, bool]] = {}
        self._ous: dict[str, str] = {}
        self._aocs: dict[str | None, str | None] = {}
        self._profiled = bool(self._p_de or self._p_coc or self._p_aoc or self._p_ou)

    # ---- single objects ------------------------------------------------------------------------

    def combo(self, coc: str | None) -> str | None:
        """A source option combo that no row changes: the default becomes the destination's,
        a combo the profile maps becomes its destination combo, any other stays."""
        if coc is None or coc == self.source_default:
            return self.destination_default
        return self._p_coc.get(coc, coc)

    def attribute_combo(self, aoc: str | None) -> str | None:
        """Explicit map first, then the profile's, then default translation, else unchanged."""
        if aoc is not None and aoc in self._aoc_map:
            return self._aoc_map[aoc]
        if aoc is not None and aoc in self._p_aoc:
            return self._p_aoc[aoc]
        if aoc is None or aoc == self.source_default:
            return self._aoc_map.get(self.source_default or "", self.destination_default)
        return aoc

    def org_unit(self, ou: str) -> str:
        if ou in self._ou_map:
            return self._ou_map[ou]
        return self._p_ou.get(ou, ou)

    def element(self, de: str, coc: str | None) -> tuple[str, str | None] | None:
        """(target element, target combo) for a source pair; None when unmapped (not counted)."""
        row = self._exact.get((de, coc)) if coc is not None else None
        if row is None and (coc is None or coc == self.source_default):
            # An absent combo means the default on import; accept rows written either way.
            row = self._exact.get((de, self.source_default or ""))
        if row is None:
            row = self._any.get(de)
        if row is None:
            if de in self._p_de:
                return self._p_de[de], self.combo(coc)
            return None
        target_coc = row.target_category_option_combo
        return row.target_data_element, target_coc if target_coc else self.combo(coc)

    def has_row(self, de: str) -> bool:
        return de in self._any or any(key[0] == de for key in self._exact)

    def _note_profile(self, value: DataValue) -> None:
        """Count the profile mappings that decided an identifier of `value` (a transfer row or
        map that covers the identifier decided it instead)."""
        used: list[tuple[str, str, str]] = []
        de, coc = value.data_element or "", value.category_option_combo
        row = self._exact.get((de, coc)) if coc is not None else None
        if row is None and (coc is None or coc == self.source_default):
            row = self._exact.get((de, self.source_default or ""))
        row = row or self._any.get(de)
        if row is None and de in self._p_de:
            used.append(("dataElements", de, self._p_de[de]))
        if (row is None or not row.target_category_option_combo) and coc in self._p_coc:
            used.append(("categoryOptionCombos", coc or "", self._p_coc[coc or ""]))
        aoc = value.attribute_option_combo
        if aoc is not None and aoc not in self._aoc_map and aoc in self._p_aoc:
            used.append(("attributeOptionCombos", aoc, self._p_aoc[aoc]))
        ou = value.org_unit or ""
        if ou not in self._ou_map and ou in self._p_ou:
            used.append(("organisationUnits", ou, self._p_ou[ou]))
        if used:
            self.mapped_by_profile += 1
            self.profile_used.update(used)

    def profile_report(self) -> list[dict[str, Any]]:
        """`{type, source, destination, count}` per profile mapping used, most used first."""
        return [
            {"type": kind, "source": src, "destination": dst, "count": count}
            for (kind, src, dst), count in self.profile_used.most_common()
        ]

    def collisions(
        self,
        elements: Iterable[Pair],
        org_units: Iterable[str],
        attribute_combos: Iterable[str | None],
    ) -> Collisions:
        """Destination objects that more than one source object maps to.

        The arguments are the source objects the metadata says values can have (the data set's
        elements with their option combos, its org units in the selection, its attribute
        option combos); every key of the rows and maps is added, since a key is written for
        values that exist (the demo data has values of attribute combos outside their data
        set's combo) and a configuration mapping two keys to one target is never one-to-one.
        Other values outside the metadata (an option combo no longer in its element's combo
        and in no row) are not considered: preflight cannot know they exist, and tracking
        every value just in case would cost memory on every run.
        """
        domain = dict.fromkeys(elements)
        domain.update(dict.fromkeys(self._exact))
        listed = {de for de, _ in domain}
        domain.update(dict.fromkeys((de, None) for de in self._any if de not in listed))
        element_pairs: list[tuple[Pair, Pair]] = []
        for de, coc in domain:
            target = self.element(de, coc)
            if target is None:
                if not self.send_unmapped:
                    continue
                target = (de, self.combo(coc))
            element_pairs.append(((de, coc if coc is not None else self.source_default), target))
        return Collisions(
            elements=_many_to_one(element_pairs),
            org_units=_many_to_one(
                (ou, self.org_unit(ou)) for ou in dict.fromkeys([*org_units, *self._ou_map])
            ),
            attribute_combos=_many_to_one(
                (aoc if aoc is not None else self.source_default, self.attribute_combo(aoc))
                for aoc in dict.fromkeys([*attribute_combos, *self._aoc_map])
            ),
        )

    # ---- values --------------------------------------------------------------------------------

    def map(self, value: DataValue) -> DataValue | None:
        """The value in destination identifiers, or None when it must not be sent."""
        if (
            value.data_element is None
            or value.org_unit is None
            or (
                self.require_combos
                and (value.category_option_combo is None or value.attribute_option_combo is None)
            )
        ):
            # idScheme=CODE exports null for objects without a code: nothing can match it, and
            # a null option combo must not be taken for the default one.
            de = value.data_element or NO_CODE
            self.unmapped[(de, value.category_option_combo or "", False)] += 1
            return None
        de, coc = value.data_element, value.category_option_combo
        target = self._targets.get((de, coc))
        if target is None:
            found = self.element(de, coc)
            target = (de, self.combo(coc), False) if found is None else (*found, True)
            self._targets[(de, coc)] = target
        if not target[2]:
            self.unmapped[(de, coc or "", True)] += 1
            if not self.send_unmapped:
                return None
        if self._profiled:
            self._note_profile(value)
        ou = self._ous.get(value.org_unit)
        if ou is None:
            ou = self._ous[value.org_unit] = self.org_unit(value.org_unit)
        aoc = value.attribute_option_combo
        try:
            target_aoc = self._aocs[aoc]
        except KeyError:
            target_aoc = self._aocs[aoc] = self.attribute_combo(aoc)
        return _new_value(
            DataValue,
            (
                target[0],
                value.period,
                ou,
                target[1],
                target_aoc,
                value.value,
                value.comment,
                value.followup,
                value.deleted,
            ),
        )

    def map_many(self, values: Iterable[DataValue]) -> list[DataValue]:
        """`map` over a page of values, dropping those not to send. Values whose identifiers
        were all met before take a short path of dict lookups (the memos `map` fills); any
        other value goes through `map` itself, so the result and the counts are the same."""
        if self.require_combos or self._profiled:
            return [m for v in values if (m := self.map(v)) is not None]
        out: list[DataValue] = []
        append = out.append
        targets, ous, aocs, slow = self._targets, self._ous, self._aocs, self.map
        for value in values:
            de, pe, ou, coc, aoc, val, comment, followup, deleted = value
            target = targets.get((de, coc))  # None for a data element of None: never stored
            if target is None or not target[2] or ou is None:
                mapped = slow(value)
                if mapped is not None:
                    append(mapped)
                continue
            target_ou = ous.get(ou)
            target_aoc = aocs.get(aoc, _MISSING)
            if target_ou is None or target_aoc is _MISSING:
                mapped = slow(value)
                if mapped is not None:
                    append(mapped)
                continue
            fields = (
                target[0],
                pe,
                target_ou,
                target[1],
                target_aoc,
                val,
                comment,
                followup,
                deleted,
            )
            append(_new_value(DataValue, fields))
        return out

    @property
    def unmapped_count(self) -> int:
        return sum(self.unmapped.values())

    def unmapped_report(self) -> list[dict[str, Any]]:
        """`{data_element, category_option_combo, count, action}` rows, most frequent first.

        `action` says what happened to those values: `sent` (unchanged identifiers) or
        `skipped`; `reason` is `no mapping row`, or `no identifier on the source` for values
        whose data element or org unit has no code (CODE scheme), which are always skipped.
        """
        rows = []
        for (de, coc, identified), count in self.unmapped.most_common():
            skipped = not identified or not self.send_unmapped
            rows.append(
                {
                    "data_element": de,
                    "category_option_combo": coc or None,
                    "count": count,
                    "action": "skipped" if skipped else "sent",
                    "reason": "no mapping row" if identified else "no identifier on the source",
                }
            )
        return rows


def _many_to_one(pairs: Iterable[tuple[_K, _K]]) -> dict[_K, list[_K]]:
    """Targets with more than one distinct source, each with its sources in first-seen order."""
    sources: dict[_K, list[_K]] = {}
    for source, target in pairs:
        seen = sources.setdefault(target, [])
        if source not in seen:
            seen.append(source)
    return {target: found for target, found in sources.items() if len(found) > 1}


def _ident(ident: str | None) -> str:
    return ident or "(none)"


def _pair(pair: Pair) -> str:
    return f"{pair[0]} / {pair[1]}" if pair[1] else pair[0]


@dataclass
class Collisions:
    """Many-to-one parts of a mapping: destination object -> the source objects mapped to it
    (two or more each), per dimension. Empty (falsy) when the mapping is one-to-one."""

    elements: dict[Pair, list[Pair]] = field(default_factory=dict)
    org_units: dict[str, list[str]] = field(default_factory=dict)
    attribute_combos: dict[str | None, list[str | None]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.elements or self.org_units or self.attribute_combos)

    def problems(self, shown: int = 10) -> list[tuple[str, list[str]]]:
        """(message, destination identifiers) per dimension that collides, for preflight."""
        out = []
        for what, found in (
            ("data element / option combo", _shown(self.elements, _pair)),
            ("org unit", _shown(self.org_units, str)),
            ("attribute option combo", _shown(self.attribute_combos, _ident)),
        ):
            if not found:
                continue
            lines = [f"{' and '.join(sources)} → {target}" for target, sources in found]
            listed = "; ".join(lines[:shown])
            if len(lines) > shown:
                listed += f" and {len(lines) - shown} more"
            message = (
                f"{len(lines)} destination {what}(s) receive values of more than one source "
                f"{what}, which would overwrite each other: {listed}. The first value for each "
                "destination value is sent; later ones are not sent and are reported as "
                "conflicts (DUPLICATE_TARGET). Make the mapping one-to-one to transfer them all."
            )
            out.append((message, [target for target, _ in found]))
        return out


def _shown(found: Mapping[_K, list[_K]], show: Callable[[_K], str]) -> list[tuple[str, list[str]]]:
    return [(show(target), [show(s) for s in sources]) for target, sources in found.items()]


_DIMENSIONS = ("dataElement", "period", "orgUnit", "categoryOptionCombo", "attributeOptionCombo")


class DuplicateGuard:
    """Stops values that land on a destination value another source value of this run
    already landed on, so a many-to-one mapping reports the later value instead of letting it
    overwrite the earlier one (and be counted as "updated").

    Two different source values that land on the same destination value differ in a mapped
    dimension (periods are never mapped), so the destination of that dimension is one of the
    `Collisions` targets. Only values landing on such a target are remembered: nothing at all
    when the mapping is one-to-one (the engine then builds no guard). Cost: one dict entry per
    remembered value, its destination and source identity as tuples of interned strings,
    roughly 200 bytes; merging two org units remembers the values of the merged one only.

    "Earlier" is the fetch order, which is fixed, so a resumed run drops the same values and
    rebuilds the same chunks. An incremental run sees only changed values, so a changed later
    value whose earlier partner did not change is still sent.
    """

    def __init__(self, collisions: Collisions) -> None:
        self._elements = set(collisions.elements)
        self._org_units = set(collisions.org_units)
        self._aocs = set(collisions.attribute_combos)
        self._seen: dict[tuple[str, ...], tuple[str, ...]] = {}

    @property
    def remembered(self) -> int:
        return len(self._seen)

    def earlier(self, source: DataValue, mapped: DataValue) -> tuple[str, ...] | None:
        """Identity of the source value that already landed on `mapped`'s identity, or None
        (then `mapped` now belongs to `source`)."""
        if (
            (mapped.data_element, mapped.category_option_combo) not in self._elements
            and mapped.org_unit not in self._org_units
            and mapped.attribute_option_combo not in self._aocs
        ):
            return None
        key = tuple(sys.intern(part) for part in mapped.identity())
        mine = tuple(sys.intern(part) for part in source.identity())
        first = self._seen.setdefault(key, mine)
        return None if first == mine else first

    @staticmethod
    def differing(first: tuple[str, ...], later: tuple[str, ...]) -> str:
        """The first import property (`orgUnit`, ...) in which two source identities differ."""
        for name, a, b in zip(_DIMENSIONS, first, later, strict=True):
            if a != b:
                return name
        return "dataElement"
