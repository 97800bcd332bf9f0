"""Building a dependency-complete `/api/metadata` payload for objects the destination lacks.

Closure. Starting from the selected source objects, every object brings what it needs:

* a data element its category combo; a category combo its categories and its option combos;
  a category its options; an option combo its combo and options;
* a data set its attribute combo, its data elements (with their combos) and the combos of its
  element overrides; a program its combo and stages; a stage its program and data elements;
* an org unit its parent, so missing ancestors come along (sent ancestors first).

An object the destination already has (`resolution`, from the assessment, plus the defaults of
each side, plus an optional by-UID check on the destination) is never sent again: references to
it are rewritten to the destination's UID. Sent objects keep the source's UIDs and codes.

Org units are not a dependency of a data set or program (DHIS2's own dependency export keeps
them as references too): assignments to org units the destination lacks are dropped and
reported in `warnings`, unless those units are sent in the same payload.

Clean-up. Objects are read with a whitelist of properties (`schema.TypeSpec.payload_fields`), so
sharing, users, user groups, attribute values, legend sets and option sets never travel; the
fields DHIS2 requires are filled (`shortName` ≤ 50 characters and unique in the payload,
`valueType`, `aggregationType`, `domainType`, `openingDate`, a category combo).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dhis2.filters import flt_in

from .schema import DEFAULT_UIDS, ORDER, SPECS

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = [
    "Payload",
    "build_payload",
    "dependency_types",
    "destination_lookup",
    "source_fetcher",
]

Fetch = Callable[[str, Sequence[str]], list[dict[str, Any]]]
Exists = Callable[[str, Sequence[str]], set[str]]

SHORT_NAME_MAX = 50
DEFAULT_OPENING_DATE = "1970-01-01"
NUMERIC_VALUE_TYPES = frozenset(
    {
        "NUMBER",
        "INTEGER",
        "INTEGER_POSITIVE",
        "INTEGER_NEGATIVE",
        "INTEGER_ZERO_OR_POSITIVE",
        "PERCENTAGE",
        "UNIT_INTERVAL",
        "BOOLEAN",
        "TRUE_ONLY",
    }
)
SHORT_NAME_TYPES = frozenset(
    {"organisationUnits", "categoryOptions", "categories", "dataElements", "dataSets", "programs"}
)
# Types whose shortName DHIS2 keeps unique (E5003 otherwise).
UNIQUE_SHORT_NAME = frozenset({"categoryOptions", "dataElements", "dataSets", "programs"})
DSE_REFS = (("dataElement", "dataElements"), ("categoryCombo", "categoryCombos"))
FETCH_BATCH = 100  # UIDs per `id:in:[...]` request: keeps the URL well under 8 kB

# Types an object of a type may depend on (closure only; org units of data sets excluded).
DEPENDS_ON: dict[str, tuple[str, ...]] = {
    "categoryOptions": (),
    "categories": ("categoryOptions",),
    "categoryCombos": ("categories", "categoryOptionCombos"),
    "categoryOptionCombos": ("categoryCombos", "categoryOptions"),
    "organisationUnits": ("organisationUnits",),
    "dataElements": ("categoryCombos",),
    "dataSets": ("categoryCombos", "dataElements"),
    "programs": ("categoryCombos", "programStages"),
    "programStages": ("programs", "dataElements"),
}


def dependency_types(types: Iterable[str]) -> list[str]:
    """`types` plus every type their objects can bring along, in dependency order.

    A sync should be planned from an assessment of these types, so that every dependency the
    destination has under another UID is known and referenced instead of sent.
    """
    wanted = set(types)
    stack = list(wanted)
    while stack:
        for dep in DEPENDS_ON.get(stack.pop(), ()):
            if dep not in wanted:
                wanted.add(dep)
                stack.append(dep)
    return [t for t in ORDER if t in wanted]


@dataclass
class Payload:
    """A metadata payload ready for `POST /api/metadata`, with what it left out and why."""

    metadata: dict[str, list[dict[str, Any]]]
    referenced: dict[str, dict[str, str]] = field(default_factory=dict)  # src → dst UID used
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return {t: len(objs) for t, objs in self.metadata.items()}

    @property
    def empty(self) -> bool:
        return not any(self.metadata.values())


def _ref_id(value: Any) -> str | None:
    uid = value.get("id") if isinstance(value, dict) else None
    return uid if isinstance(uid, str) else None


def _dependencies(type_: str, obj: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """`(type, uid)` of every object `obj` needs on the destination."""

    def one(prop: str, target: str) -> Iterator[tuple[str, str]]:
        uid = _ref_id(obj.get(prop))
        if uid:
            yield target, uid

    def many(prop: str, target: str) -> Iterator[tuple[str, str]]:
        for ref in obj.get(prop) or ():
            uid = _ref_id(ref)
            if uid:
                yield target, uid

    if type_ == "organisationUnits":
        yield from one("parent", "organisationUnits")
    elif type_ == "categories":
        yield from many("categoryOptions", "categoryOptions")
    elif type_ == "categoryCombos":
        yield from many("categories", "categories")
        yield from many("categoryOptionCombos", "categoryOptionCombos")
    elif type_ == "categoryOptionCombos":
        yield from one("categoryCombo", "categoryCombos")
        yield from many("categoryOptions", "categoryOptions")
    elif type_ == "dataElements":
        yield from one("categoryCombo", "categoryCombos")
    elif type_ == "dataSets":
        yield from one("categoryCombo", "categoryCombos")
        for dse in obj.get("dataSetElements") or ():
            if isinstance(dse, dict):
                for prop, target in DSE_REFS:
                    uid = _ref_id(dse.get(prop))
                    if uid:
                        yield target, uid
    elif type_ == "programs":
        yield from one("categoryCombo", "categoryCombos")
        yield from many("programStages", "programStages")
    elif type_ == "programStages":
        yield from one("program", "programs")
        for psde in obj.get("programStageDataElements") or ():
            uid = _ref_id(psde.get("dataElement")) if isinstance(psde, dict) else None
            if uid:
                yield "dataElements", uid


class _Builder:
    def __init__(
        self,
        fetch: Fetch,
        resolution: Mapping[str, Mapping[str, str]],
        defaults: tuple[Mapping[str, str], Mapping[str, str]],
        exists: Exists | None,
    ) -> None:
        self.fetch = fetch
        self.exists = exists
        self.present: dict[str, dict[str, str]] = {t: dict(m) for t, m in resolution.items()}
        src_defaults, dst_defaults = defaults
        for type_ in DEFAULT_UIDS:
            if type_ in src_defaults and type_ in dst_defaults:
                self.present.setdefault(type_, {})[src_defaults[type_]] = dst_defaults[type_]
        self.dst_default_combo = dst_defaults.get("categoryCombos")
        self.included: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        self.referenced: dict[str, dict[str, str]] = defaultdict(dict)
        self.warnings: list[str] = []
        self.selected_present: dict[str, list[str]] = defaultdict(list)

    def dst(self, type_: str, uid: str) -> str | None:
        return self.present.get(type_, {}).get(uid)

    def close(self, selected: Mapping[str, Iterable[str]]) -> None:
        pending: dict[str, set[str]] = defaultdict(set)
        for type_, uids in selected.items():
            for uid in uids:
                if self.dst(type_, uid) is not None:
                    self.selected_present[type_].append(uid)
                else:
                    pending[type_].add(uid)
        while any(pending.values()):
            current, pending = pending, defaultdict(set)
            for type_ in ORDER:
                uids = sorted(u for u in current.get(type_, ()) if u not in self.included[type_])
                needed = []
                for uid in uids:
                    to = self.dst(type_, uid)
                    if to is not None:
                        self.referenced[type_][uid] = to
                    else:
                        needed.append(uid)
                if needed and self.exists is not None:
                    on_destination = self.exists(type_, needed)
                    for uid in on_destination:
                        self.present.setdefault(type_, {})[uid] = uid
                        self.referenced[type_][uid] = uid
                    needed = [u for u in needed if u not in on_destination]
                if not needed:
                    continue
                found = {o["id"]: o for o in self.fetch(type_, needed) if o.get("id")}
                for uid in needed:
                    obj = found.get(uid)
                    if obj is None:
                        self.warnings.append(
                            f"{SPECS[type_].label}: {uid} was not found on the source; "
                            "references to it are left out."
                        )
                        continue
                    self.included[type_][uid] = obj
                    for dep_type, dep_uid in _dependencies(type_, obj):
                        if dep_uid not in self.included[dep_type]:
                            pending[dep_type].add(dep_uid)

    # --- rewriting ---------------------------------------------------------------------------

    def target(self, type_: str, uid: str | None) -> str | None:
        """The UID the destination will know `uid` by, or None when it will not exist there."""
        if uid is None:
            return None
        if uid in self.included[type_]:
            return uid
        return self.dst(type_, uid)

    def ref(self, type_: str, value: Any) -> dict[str, str] | None:
        uid = self.target(type_, _ref_id(value))
        return {"id": uid} if uid else None

    def refs(self, type_: str, obj: Mapping[str, Any], owner: str) -> list[dict[str, str]]:
        """The references of `obj`'s list property named like `type_`, rewritten; references
        the destination will not have are left out (and reported)."""
        prop = type_
        out, dropped = [], 0
        for value in obj.get(prop) or ():
            ref = self.ref(type_, value)
            if ref is None:
                dropped += 1
            elif ref not in out:
                out.append(ref)
        if dropped:
            self.warnings.append(
                f"{owner}: {dropped} {SPECS[type_].label} in `{prop}` are not on the destination "
                "and not in this payload; left out."
            )
        return out

    def finish(self) -> dict[str, list[dict[str, Any]]]:
        # Option combos of a combo the destination already has are generated by DHIS2 there.
        for uid, coc in list(self.included["categoryOptionCombos"].items()):
            combo = _ref_id(coc.get("categoryCombo"))
            if combo and combo not in self.included["categoryCombos"]:
                del self.included["categoryOptionCombos"][uid]
                self.warnings.append(
                    f"category option combos: {coc.get('name') or uid} belongs to a category "
                    "combo the destination already has; DHIS2 generates that combo's option "
                    "combos itself, so it is not sent."
                )
        out: dict[str, list[dict[str, Any]]] = {}
        short_names: dict[str, set[str]] = defaultdict(set)
        for type_ in ORDER:
            objs = list(self.included[type_].values())
            if type_ == "organisationUnits":
                objs.sort(key=_depth_key)  # ancestors first
            else:
                objs.sort(key=lambda o: (str(o.get("name") or ""), o["id"]))
            cleaned = [self.clean(type_, o, short_names[type_]) for o in objs]
            if cleaned:
                out[type_] = cleaned
        return out

    def clean(self, type_: str, obj: Mapping[str, Any], short_names: set[str]) -> dict[str, Any]:
        allowed = {f.split("[", 1)[0] for f in _top_level(SPECS[type_].payload_fields)}
        out = {k: v for k, v in obj.items() if k in allowed and v is not None}
        label = f"{SPECS[type_].label} {obj.get('name') or obj['id']}"
        for prop in ("path", "level"):  # DHIS2 derives them from the parent
            out.pop(prop, None)
        if type_ == "organisationUnits":
            parent = self.ref("organisationUnits", obj.get("parent"))
            if parent:
                out["parent"] = parent
            else:
                out.pop("parent", None)
            out.setdefault("openingDate", DEFAULT_OPENING_DATE)
        elif type_ == "categories":
            out["categoryOptions"] = self.refs("categoryOptions", obj, label)
        elif type_ == "categoryCombos":
            out["categories"] = self.refs("categories", obj, label)
            cocs = [
                self.ref("categoryOptionCombos", c) for c in obj.get("categoryOptionCombos") or ()
            ]
            out["categoryOptionCombos"] = [c for c in cocs if c]
        elif type_ == "categoryOptionCombos":
            out["categoryCombo"] = self.ref("categoryCombos", obj.get("categoryCombo"))
            out["categoryOptions"] = self.refs("categoryOptions", obj, label)
        elif type_ == "dataElements":
            out["categoryCombo"] = self.combo(obj.get("categoryCombo"))
            value_type = str(out.setdefault("valueType", "NUMBER"))
            numeric = value_type in NUMERIC_VALUE_TYPES
            out.setdefault("aggregationType", "SUM" if numeric else "NONE")
            out.setdefault("domainType", "AGGREGATE")
        elif type_ == "dataSets":
            out["categoryCombo"] = self.combo(obj.get("categoryCombo"))
            elements = []
            for dse in obj.get("dataSetElements") or ():
                element = self.ref("dataElements", (dse or {}).get("dataElement"))
                if element is None:
                    continue
                row: dict[str, Any] = {"dataSet": {"id": obj["id"]}, "dataElement": element}
                override = self.ref("categoryCombos", dse.get("categoryCombo"))
                if override:
                    row["categoryCombo"] = override
                elements.append(row)
            out["dataSetElements"] = elements
            out["organisationUnits"] = self.refs("organisationUnits", obj, label)
        elif type_ == "programs":
            out["categoryCombo"] = self.combo(obj.get("categoryCombo"))
            out["organisationUnits"] = self.refs("organisationUnits", obj, label)
            out["programStages"] = self.refs("programStages", obj, label)
        elif type_ == "programStages":
            program = self.ref("programs", obj.get("program"))
            if program:
                out["program"] = program
            rows = []
            for psde in obj.get("programStageDataElements") or ():
                element = self.ref("dataElements", (psde or {}).get("dataElement"))
                if element is not None:
                    rows.append({**psde, "dataElement": element, "programStage": {"id": obj["id"]}})
            out["programStageDataElements"] = rows
        if type_ in SHORT_NAME_TYPES:
            out["shortName"] = _short_name(
                str(out.get("shortName") or out.get("name") or obj["id"]),
                short_names if type_ in UNIQUE_SHORT_NAME else set(),
            )
        return {k: v for k, v in out.items() if v is not None}

    def combo(self, value: Any) -> dict[str, str] | None:
        ref = self.ref("categoryCombos", value)
        if ref is None and self.dst_default_combo:
            return {"id": self.dst_default_combo}
        return ref


def _top_level(fields: str) -> list[str]:
    parts, depth, buf = [], 0, ""
    for ch in fields:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(buf)
            buf = ""
        else:
            buf += ch
    return [*parts, buf] if buf else parts


def _depth_key(ou: Mapping[str, Any]) -> tuple[int, str, str]:
    path = str(ou.get("path") or "")
    depth = ou.get("level") if isinstance(ou.get("level"), int) else path.count("/")
    return (int(depth or 0), path, ou["id"])


def _short_name(value: str, taken: set[str]) -> str:
    """At most 50 characters; made unique within the payload when `taken` is kept."""
    short = value[:SHORT_NAME_MAX].rstrip()
    n = 1
    candidate = short
    while candidate in taken:
        n += 1
        suffix = f" ({n})"
        candidate = short[: SHORT_NAME_MAX - len(suffix)].rstrip() + suffix
    taken.add(candidate)
    return candidate


def _ancestor_order(metadata: dict[str, list[dict[str, Any]]]) -> None:
    """Re-sort org units so each comes after its parent even without path/level."""
    units = metadata.get("organisationUnits")
    if not units:
        return
    by_id = {u["id"]: u for u in units}
    placed: set[str] = set()
    ordered: list[dict[str, Any]] = []

    def place(unit: dict[str, Any], trail: set[str]) -> None:
        if unit["id"] in placed or unit["id"] in trail:
            return
        parent = _ref_id(unit.get("parent"))
        if parent in by_id:
            place(by_id[parent], trail | {unit["id"]})
        placed.add(unit["id"])
        ordered.append(unit)

    for unit in units:
        place(unit, set())
    metadata["organisationUnits"] = ordered


def build_payload(
    *,
    selected: Mapping[str, Iterable[str]],
    fetch: Fetch,
    resolution: Mapping[str, Mapping[str, str]],
    defaults: tuple[Mapping[str, str], Mapping[str, str]] = ({}, {}),
    exists: Exists | None = None,
) -> Payload:
    """The payload that creates `selected` (type → source UIDs) and what they need.

    `fetch(type, uids)` returns the source objects with `payload_fields` (see `source_fetcher`);
    `resolution` maps type → source UID → destination UID for objects the destination has
    (`AssessmentResult.resolution`); `defaults` are `(source, destination)` default UIDs;
    `exists(type, uids)` (optional, see `destination_lookup`) names the UIDs the destination has
    that the assessment did not know about, so they are referenced instead of sent.
    """
    builder = _Builder(fetch, resolution, defaults, exists)
    builder.close(selected)
    metadata = builder.finish()
    _ancestor_order(metadata)
    for type_, uids in builder.selected_present.items():
        builder.warnings.append(
            f"{SPECS[type_].label}: {len(uids)} selected object(s) are already on the "
            "destination and are not sent again."
        )
    return Payload(
        metadata=metadata,
        referenced={t: dict(m) for t, m in builder.referenced.items() if m},
        warnings=builder.warnings,
    )


def _batches(uids: Sequence[str], size: int = FETCH_BATCH) -> Iterator[Sequence[str]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def source_fetcher(client: Client) -> Fetch:
    """`fetch` for `build_payload`: the objects by UID with the payload's whitelist of fields."""

    def fetch(type_: str, uids: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for batch in _batches(uids):
            found += client.list_all(
                type_, fields=SPECS[type_].payload_fields, filters=[flt_in("id", batch)]
            )
        return found

    return fetch


def destination_lookup(client: Client) -> Exists:
    """`exists` for `build_payload`: which of these UIDs the destination has."""

    def exists(type_: str, uids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for batch in _batches(uids):
            found |= {
                str(o.get("id"))
                for o in client.list_all(type_, fields="id", filters=[flt_in("id", batch)])
            }
        return found

    return exists
