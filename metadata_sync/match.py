"""Matching source metadata to the destination: pure functions over plain dicts.

Each source object gets one status (see `Status`). Matching runs in passes, strongest first, and
a destination object claimed by one pass is out of the later ones, so no destination object is
matched twice: the UID pass for all objects, then code, then name, then a fuzzy suggestion.

* Names compare case- and whitespace-insensitively (`normalize_name`).
* Option combos: the name pass first looks for the same set of category options in the
  (mapped) category combo, because DHIS2 generates option combo names from option names and
  their order is not guaranteed; such a match is reported as `matched_by_name`.
* Org units: names repeat across a country ("Health Post"), so the name pass looks under the
  matched parent first (units are taken level by level, parents first) and only then for a
  name unique on the destination. A name that is not unique is a `suggested` match.
* Fuzzy suggestions use `rapidfuzz.process.extractOne` over the *unclaimed* destination names
  of the same type only (org units: the unclaimed children of the matched parent), with a cap on
  comparisons per type (`fuzzy_budget`), so two unrelated 50,000-unit trees never cost n².
* Default category objects carry other UIDs on old databases (reference §10); `detect_defaults`
  finds each side's and they are matched to each other whatever their UIDs.

References inside objects (a data element's category combo, an org unit's parent, a data set's
elements) are compared through the matches of the referenced type: a data element whose combo
has another UID on the destination but was matched by name is not a conflict.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz, process

from .schema import DEFAULT_NAME, DEFAULT_UIDS, SPECS

__all__ = [
    "DEFAULT_FUZZY_BUDGET",
    "DEFAULT_FUZZY_THRESHOLD",
    "ItemResult",
    "Resolution",
    "Status",
    "TypeStats",
    "detect_defaults",
    "match_type",
    "normalize_name",
    "slim",
]

DEFAULT_FUZZY_THRESHOLD = 85.0
DEFAULT_FUZZY_BUDGET = 2_000_000  # name comparisons per type


class Status(StrEnum):
    MATCHED = "matched"  # same UID (or the default object of each side)
    MATCHED_BY_CODE = "matched_by_code"
    MATCHED_BY_NAME = "matched_by_name"
    SUGGESTED = "suggested"
    CONFLICT = "conflict"
    MISSING = "missing"


# Statuses that mean "the destination has this object" (a sync references it, never sends it).
PRESENT = frozenset(
    {Status.MATCHED, Status.MATCHED_BY_CODE, Status.MATCHED_BY_NAME, Status.CONFLICT}
)


@dataclass
class ItemResult:
    """One source object and what the destination has for it (the API's item shape)."""

    type: str
    source_id: str
    source_code: str
    source_name: str
    status: Status
    destination_id: str = ""
    destination_code: str = ""
    destination_name: str = ""
    score: float | None = None
    differences: dict[str, Any] = field(default_factory=dict)
    attribute: bool = False  # an option combo of an attribute category combo


@dataclass
class TypeStats:
    """What matching one type cost; `fuzzy_skipped` objects got no suggestion (budget spent)."""

    fuzzy_comparisons: int = 0
    fuzzy_skipped: int = 0


# type -> source UID -> destination UID, for every source object the destination has.
Resolution = dict[str, dict[str, str]]


def normalize_name(name: Any) -> str:
    """Case- and whitespace-insensitive form of a name (`" ANC  1st Visit"` → `"anc 1st visit"`)."""
    return " ".join(str(name or "").split()).casefold()


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        uid = value.get("id")
        return uid if isinstance(uid, str) and uid else None
    return value if isinstance(value, str) and value else None


def _refs(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [uid for uid in (_ref(v) for v in value) if uid]


def slim(type_: str, obj: Mapping[str, Any]) -> dict[str, Any]:
    """The compact form of a DHIS2 object that matching works on.

    References become UID strings (`parent`, `categoryCombo`, `program`), reference lists become
    UID lists (`categoryOptions`, `organisationUnits`, `dataSetElements` → element UIDs), and an
    option combo records whether its combo is an attribute combo. Reading 50,000 org units then
    holds small flat dicts, not nested ones.
    """
    out: dict[str, Any] = {
        "id": str(obj.get("id") or ""),
        "code": str(obj.get("code") or ""),
        "name": str(obj.get("name") or obj.get("displayName") or ""),
    }
    spec = SPECS[type_]
    for prop in spec.compare:
        if obj.get(prop) is not None:
            out[prop] = obj[prop]
    for prop, _target in spec.compare_refs:
        out[prop] = _ref(obj.get(prop))
    if type_ == "categoryOptionCombos":
        out["categoryOptions"] = _refs(obj.get("categoryOptions"))
        combo = obj.get("categoryCombo")
        out["attribute"] = isinstance(combo, dict) and combo.get("dataDimensionType") == "ATTRIBUTE"
    elif type_ == "dataSets":
        elements = obj.get("dataSetElements")
        out["dataSetElements"] = [
            uid
            for uid in (_ref(e.get("dataElement")) for e in (elements or []) if isinstance(e, dict))
            if uid
        ]
        out["organisationUnits"] = _refs(obj.get("organisationUnits"))
    elif type_ == "organisationUnits" and not isinstance(out.get("level"), int):
        out["level"] = None
    return out


def detect_defaults(objects: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, str]:
    """UID of the default category option, category, combo and option combo on one side.

    DHIS2's fixed UID when present, else the object named "default" (DHIS2 names them so, and
    its integrity checks flag any second one); types without one are left out.
    """
    found: dict[str, str] = {}
    for type_, fixed in DEFAULT_UIDS.items():
        objs = objects.get(type_) or ()
        by_name = None
        for obj in objs:
            if obj.get("id") == fixed:
                found[type_] = fixed
                break
            if by_name is None and normalize_name(obj.get("name")) == DEFAULT_NAME:
                by_name = str(obj.get("id"))
        else:
            if by_name:
                found[type_] = by_name
    return found


class _Mapper:
    """Maps a source UID of a referenced type to the destination UID it should be there."""

    def __init__(self, resolution: Resolution, assessed: Iterable[str], defaults: Resolution):
        self.resolution = resolution
        self.assessed = set(assessed)
        self.defaults = defaults

    def __call__(self, type_: str, uid: str | None) -> str | None:
        if uid is None:
            return None
        default = self.defaults.get(type_, {}).get(uid)
        if default is not None:
            return default
        if type_ in self.assessed:
            return self.resolution.get(type_, {}).get(uid)
        return uid  # type not assessed: only the same UID can be meant


def _item(type_: str, src: Mapping[str, Any], status: Status, dst: Mapping[str, Any] | None = None,
          score: float | None = None) -> ItemResult:  # fmt: skip
    return ItemResult(
        type=type_,
        source_id=src["id"],
        source_code=src.get("code", ""),
        source_name=src.get("name", ""),
        status=status,
        destination_id=dst["id"] if dst else "",
        destination_code=dst.get("code", "") if dst else "",
        destination_name=dst.get("name", "") if dst else "",
        score=score,
        attribute=bool(src.get("attribute")),
    )


def _differences(
    type_: str, src: Mapping[str, Any], dst: Mapping[str, Any], mapper: _Mapper
) -> dict[str, Any]:
    spec = SPECS[type_]
    diffs: dict[str, Any] = {}
    for prop in spec.compare:
        if src.get(prop) != dst.get(prop):
            diffs[prop] = {"source": src.get(prop), "destination": dst.get(prop)}
    for prop, target in spec.compare_refs:
        if mapper(target, src.get(prop)) != dst.get(prop):
            diffs[prop] = {"source": src.get(prop), "destination": dst.get(prop)}
    if type_ == "dataSets":
        for prop, target in (
            ("dataSetElements", "dataElements"),
            ("organisationUnits", "organisationUnits"),
        ):
            dst_set = set(dst.get(prop) or ())
            mapped = {uid: mapper(target, uid) for uid in src.get(prop) or ()}
            only_source = sorted(uid for uid, to in mapped.items() if to not in dst_set)
            only_destination = sorted(dst_set - set(mapped.values()))
            if only_source or only_destination:
                diffs[prop] = {"only_source": only_source, "only_destination": only_destination}
    return diffs


def match_type(
    type_: str,
    source: Sequence[Mapping[str, Any]],
    destination: Sequence[Mapping[str, Any]],
    *,
    resolution: Resolution,
    assessed: Iterable[str],
    defaults: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {}),
    fuzzy_threshold: float = DEFAULT_FUZZY_THRESHOLD,
    fuzzy_budget: int = DEFAULT_FUZZY_BUDGET,
) -> tuple[list[ItemResult], TypeStats]:
    """Match one type's slim source objects (see `slim`) to the destination's.

    `resolution` holds the matches of the types already matched (dependency order) and gets
    this type's added; `assessed` names the types whose matches are known, the others are
    compared by UID. `defaults` is `(source defaults, destination defaults)` from
    `detect_defaults`. Returns one `ItemResult` per source object, in source order.
    """
    stats = TypeStats()
    src_defaults, dst_defaults = defaults
    default_map: Resolution = {
        t: {src_defaults[t]: dst_defaults[t]}
        for t in DEFAULT_UIDS
        if t in src_defaults and t in dst_defaults
    }
    mapper = _Mapper(resolution, {*assessed, type_}, default_map)
    resolved = resolution.setdefault(type_, {})
    dst_by_id = {d["id"]: d for d in destination}
    claimed: set[str] = set()
    results: dict[str, ItemResult] = {}

    def claim(src: Mapping[str, Any], dst: Mapping[str, Any], status: Status) -> None:
        results[src["id"]] = _item(type_, src, status, dst)
        claimed.add(dst["id"])
        resolved[src["id"]] = dst["id"]

    # defaults, then UID
    src_default, dst_default = src_defaults.get(type_), dst_defaults.get(type_)
    for src in source:
        if src["id"] == src_default and dst_default in dst_by_id:
            claim(src, dst_by_id[dst_default], Status.MATCHED)
    for src in source:
        if src["id"] not in results and src["id"] in dst_by_id and src["id"] not in claimed:
            claim(src, dst_by_id[src["id"]], Status.MATCHED)

    def unclaimed() -> list[Mapping[str, Any]]:
        return [d for d in destination if d["id"] not in claimed]

    # code
    by_code: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for dst in unclaimed():
        if dst.get("code"):
            by_code[str(dst["code"]).strip()].append(dst)
    for src in source:
        if src["id"] in results or not src.get("code"):
            continue
        candidates = [
            d for d in by_code.get(str(src["code"]).strip(), ()) if d["id"] not in claimed
        ]
        if len(candidates) == 1:
            claim(src, candidates[0], Status.MATCHED_BY_CODE)

    # name (type-specific keys first)
    pending = [s for s in source if s["id"] not in results]
    if type_ == "organisationUnits":
        pending.sort(key=lambda s: (s.get("level") or 0, s["id"]))
    rest = unclaimed()
    by_name: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for dst in rest:
        by_name[normalize_name(dst.get("name"))].append(dst)
    scoped: dict[tuple[Any, ...], list[Mapping[str, Any]]] = defaultdict(list)
    if type_ == "organisationUnits":
        for dst in rest:
            scoped[(normalize_name(dst.get("name")), dst.get("parent"))].append(dst)
    elif type_ == "categoryOptionCombos":
        for dst in rest:
            options = frozenset(dst.get("categoryOptions") or ())
            scoped[("options", dst.get("categoryCombo"), options)].append(dst)
            scoped[("name", dst.get("categoryCombo"), normalize_name(dst.get("name")))].append(dst)

    def free(candidates: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return [d for d in candidates if d["id"] not in claimed]

    for src in pending:
        name = normalize_name(src.get("name"))
        keys: list[tuple[Any, ...]] = []
        if type_ == "organisationUnits":
            keys = [(name, mapper(type_, src.get("parent")))]
        elif type_ == "categoryOptionCombos":
            combo = mapper("categoryCombos", src.get("categoryCombo"))
            mapped = [mapper("categoryOptions", o) for o in src.get("categoryOptions") or ()]
            if mapped and None not in mapped:
                keys.append(("options", combo, frozenset(mapped)))
            keys.append(("name", combo, name))
        done = False
        for key in keys:
            candidates = free(scoped.get(key, ()))
            if len(candidates) == 1:
                claim(src, candidates[0], Status.MATCHED_BY_NAME)
                done = True
                break
        if done or not name:
            continue
        candidates = free(by_name.get(name, ()))
        if len(candidates) == 1:
            claim(src, candidates[0], Status.MATCHED_BY_NAME)
        elif candidates:  # the same name more than once on the destination: let a person choose
            first = min(candidates, key=lambda d: d["id"])
            results[src["id"]] = _item(type_, src, Status.SUGGESTED, first, 100.0)

    # fuzzy suggestions over what is still unclaimed
    pending = [s for s in source if s["id"] not in results]
    if pending and fuzzy_threshold <= 100:
        rest = unclaimed()
        pool: dict[Any, dict[str, str]] = defaultdict(dict)
        for dst in rest:
            group = dst.get("parent") if type_ == "organisationUnits" else None
            pool[group][dst["id"]] = normalize_name(dst.get("name"))
        for src in pending:
            group = mapper(type_, src.get("parent")) if type_ == "organisationUnits" else None
            choices = pool.get(group)
            name = normalize_name(src.get("name"))
            if not choices or not name:
                continue
            if stats.fuzzy_comparisons + len(choices) > fuzzy_budget:
                stats.fuzzy_skipped += 1
                continue
            stats.fuzzy_comparisons += len(choices)
            best = process.extractOne(
                name, choices, scorer=fuzz.token_sort_ratio, score_cutoff=fuzzy_threshold
            )
            if best is not None:
                _choice, score, dst_id = best
                results[src["id"]] = _item(
                    type_, src, Status.SUGGESTED, dst_by_id[dst_id], round(float(score), 1)
                )

    items: list[ItemResult] = []
    for src in source:
        item = results.get(src["id"]) or _item(type_, src, Status.MISSING)
        if item.destination_id:
            diffs = _differences(type_, src, dst_by_id[item.destination_id], mapper)
            if diffs:
                item.differences = diffs
                if item.status in PRESENT:
                    item.status = Status.CONFLICT
        items.append(item)
    return items, stats
