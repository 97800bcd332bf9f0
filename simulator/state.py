"""The in-memory DHIS2 database of one simulator instance.

Metadata objects are stored as plain dicts in DHIS2's JSON shape (owner properties only,
references as ``{"id": ...}``). Data values are indexed by ``(orgUnit, period)`` so that a
``dataValueSets`` export walks only the requested slices.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.schema import DEFAULT_UIDS, KINDS

# A stored data value: keys value, storedBy, created, lastUpdated, comment, followup, deleted.
ValueRecord = dict[str, Any]
ValueKey = tuple[str, str, str]  # (dataElement, categoryOptionCombo, attributeOptionCombo)


@dataclass
class RequestLogEntry:
    """What arrived and what was answered (``bytes`` = request body size)."""

    method: str
    path: str
    params: dict[str, list[str]]
    status: int
    bytes: int
    response_bytes: int
    time: float
    fault: str | None = None


@dataclass
class Derived:
    """Indexes computed from the metadata; rebuilt whenever metadata changes."""

    children: dict[str, list[str]] = field(default_factory=dict)
    ou_datasets: dict[str, list[str]] = field(default_factory=dict)
    ou_programs: dict[str, list[str]] = field(default_factory=dict)
    de_dataset_elements: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    de_datasets: dict[str, list[str]] = field(default_factory=dict)
    ds_des: dict[str, set[str]] = field(default_factory=dict)
    ds_ous: dict[str, set[str]] = field(default_factory=dict)
    ds_de_cc: dict[tuple[str, str], str] = field(default_factory=dict)
    cc_cocs: dict[str, set[str]] = field(default_factory=dict)
    by_code: dict[str, dict[str, str]] = field(default_factory=dict)
    by_name: dict[str, dict[str, str]] = field(default_factory=dict)
    default_coc: str = DEFAULT_UIDS["categoryOptionCombos"]
    default_cc: str = DEFAULT_UIDS["categoryCombos"]


def now_utc() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def fmt_metadata_ts(dt: datetime) -> str:
    """``2024-07-26T18:00:27.584`` - metadata and system objects (no offset)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def fmt_value_ts(dt: datetime) -> str:
    """``2010-07-23T00:00:00.000+0000`` - the data value export writer."""
    return fmt_metadata_ts(dt) + "+0000"


class State:
    """All mutable DHIS2 state of one simulator; guard mutation with ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
        self.uid_index: dict[str, tuple[str, dict[str, Any]]] = {}
        self.values: dict[tuple[str, str], dict[ValueKey, ValueRecord]] = {}
        self.completions: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.request_log: list[RequestLogEntry] = []
        self.locked_periods: dict[str, set[str]] = defaultdict(set)
        self.settings: dict[str, Any] = {}
        self._derived: Derived | None = None

    # --- metadata -------------------------------------------------------------------

    def put(self, kind: str, obj: dict[str, Any]) -> None:
        uid = obj["id"]
        self.objects[kind][uid] = obj
        self.uid_index[uid] = (kind, obj)
        self._derived = None

    def remove(self, kind: str, uid: str) -> None:
        self.objects[kind].pop(uid, None)
        self.uid_index.pop(uid, None)
        self._derived = None

    def get(self, kind: str, uid: str) -> dict[str, Any] | None:
        return self.objects.get(kind, {}).get(uid)

    def touch(self) -> None:
        """Invalidate derived indexes after an in-place metadata change."""
        self._derived = None

    @property
    def derived(self) -> Derived:
        d = self._derived
        if d is None:
            d = self._derived = self._build_derived()
        return d

    def _build_derived(self) -> Derived:
        d = Derived()
        children: dict[str, list[str]] = defaultdict(list)
        ous = self.objects["organisationUnits"]
        for uid, ou in ous.items():
            parent = (ou.get("parent") or {}).get("id")
            if parent:
                children[parent].append(uid)
        for kids in children.values():
            kids.sort(key=lambda u: (ous[u].get("name", ""), u))
        d.children = dict(children)
        ou_ds: dict[str, list[str]] = defaultdict(list)
        de_dse: dict[str, list[dict[str, Any]]] = defaultdict(list)
        de_ds: dict[str, list[str]] = defaultdict(list)
        des = self.objects["dataElements"]
        for ds_uid, ds in sorted(self.objects["dataSets"].items()):
            members: set[str] = set()
            for dse in ds.get("dataSetElements", []):
                de_uid = dse["dataElement"]["id"]
                members.add(de_uid)
                de_dse[de_uid].append(dse)
                de_ds[de_uid].append(ds_uid)
                cc = (dse.get("categoryCombo") or {}).get("id")
                if not cc:
                    cc = ((des.get(de_uid) or {}).get("categoryCombo") or {}).get("id")
                d.ds_de_cc[(ds_uid, de_uid)] = cc or d.default_cc
            d.ds_des[ds_uid] = members
            ds_ous = {o["id"] for o in ds.get("organisationUnits", [])}
            d.ds_ous[ds_uid] = ds_ous
            for ou in ds_ous:
                ou_ds[ou].append(ds_uid)
        d.ou_datasets = dict(ou_ds)
        d.de_dataset_elements = dict(de_dse)
        d.de_datasets = dict(de_ds)
        ou_pr: dict[str, list[str]] = defaultdict(list)
        for pr_uid, pr in sorted(self.objects["programs"].items()):
            for o in pr.get("organisationUnits", []):
                ou_pr[o["id"]].append(pr_uid)
        d.ou_programs = dict(ou_pr)
        for cc_uid, cc in self.objects["categoryCombos"].items():
            d.cc_cocs[cc_uid] = {c["id"] for c in cc.get("categoryOptionCombos", [])}
            if cc.get("name") == "default":
                d.default_cc = cc_uid
        for coc_uid, coc in self.objects["categoryOptionCombos"].items():
            coc_cc = (coc.get("categoryCombo") or {}).get("id")
            if coc_cc:
                d.cc_cocs.setdefault(coc_cc, set()).add(coc_uid)
            if coc.get("name") == "default":
                d.default_coc = coc_uid
        for kind, objs in self.objects.items():
            codes: dict[str, str] = {}
            names: dict[str, str] = {}
            for uid, obj in objs.items():
                if obj.get("code"):
                    codes[obj["code"]] = uid
                if obj.get("name"):
                    names[obj["name"]] = uid
            d.by_code[kind] = codes
            d.by_name[kind] = names
        return d

    def descendants(self, ou_uid: str, include_self: bool = True) -> list[str]:
        """Org unit and all below it, depth first in name order."""
        out: list[str] = [ou_uid] if include_self else []
        stack = list(reversed(self.derived.children.get(ou_uid, [])))
        children = self.derived.children
        while stack:
            uid = stack.pop()
            out.append(uid)
            stack.extend(reversed(children.get(uid, [])))
        return out

    def is_descendant(self, ou_uid: str, ancestors: list[str]) -> bool:
        ou = self.get("organisationUnits", ou_uid)
        if ou is None:
            return False
        path = ou.get("path", "")
        return any(f"/{a}" in path + "/" and f"/{a}/" in path + "/" for a in ancestors)

    # --- data values ----------------------------------------------------------------

    def value_count(self, include_deleted: bool = False) -> int:
        return sum(
            1
            for slice_ in self.values.values()
            for rec in slice_.values()
            if include_deleted or not rec["deleted"]
        )
