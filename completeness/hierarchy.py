"""Org unit hierarchy: walking the selection, and rolling form results up to the ancestors.

Walking. Descendants are listed with `GET /api/organisationUnits?filter=path:like:<root>` paged
by `dhis2.paging.iter_pages`, not with `organisationUnits/{id}?includeDescendants=true`: the
latter is silently cut to 50 items on 2.36-2.40 unless `paging=false`, and then arrives in one
answer whatever its size (reference §10). A path filter pages the same way on every version.
`path:like:<uid>` matches every unit whose path contains the root's UID, i.e. the root and its
whole subtree (UIDs are 11 characters, so one cannot be a substring of another path segment).

Levels are DHIS2's absolute levels (1 = the root of the hierarchy), as in
`/api/organisationUnitLevels`; `level` keeps only the units of that level under the selection.
The walk always reads the whole subtree so that roll-ups know the names of the units between
the selection and the assessed level.

Roll-ups. For each unit of the walked selection that has assessed units strictly below it, and
each period: `assessed`, `compliant`, `non_compliant`, `no_data`, `registered` count its
descendants' rows; `average_compliance` is the plain mean of their rows' shown compliance
(every facility weighs the same, no-data rows count as 0 %, so a reader can recompute it from
the table), and `compliant_percent` the share of
compliant rows. The unit's own row (when the data set is assigned to it too) is not part of its
roll-up: a district's figure comes from its facilities.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from dhis2.errors import UnexpectedResponse

from .compliance import Compliance, percent, round1

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = ["OrgUnit", "RollUp", "RollUpAccumulator", "Selection", "walk_org_units"]

OU_FIELDS = "id,name,level,path"


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    level: int
    path: str

    @property
    def ancestors(self) -> tuple[str, ...]:
        """UIDs above this unit, root first (from the path: `/<root>/.../<self>`)."""
        return tuple(s for s in self.path.split("/") if s and s != self.id)

    @classmethod
    def from_dhis2(cls, raw: dict[str, Any]) -> OrgUnit:
        uid = str(raw.get("id") or "")
        path = str(raw.get("path") or f"/{uid}")
        level = raw.get("level")
        if not isinstance(level, int):
            level = len([s for s in path.split("/") if s])
        return cls(id=uid, name=str(raw.get("name") or uid), level=level, path=path)


@dataclass(frozen=True)
class Selection:
    """The walked selection: every unit read (`units`, by UID) and the UIDs to assess (in
    path order, i.e. grouped by subtree)."""

    units: dict[str, OrgUnit]
    assessed: list[str]
    missing_roots: list[str]


def _batched(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def walk_org_units(
    client: Client,
    *,
    roots: Sequence[str],
    include_descendants: bool,
    level: int | None = None,
    assigned: Iterable[str] | None = None,
    page_size: int = 1000,
) -> Selection:
    """Read the selected org units (and their subtrees when `include_descendants`) and pick
    those to assess: at `level` when given, assigned to the data set when `assigned` is given.
    Roots DHIS2 does not know are listed in `missing_roots` instead of failing the run."""
    if level is not None and not include_descendants:
        raise ValueError("A level applies to descendants: turn on include descendants.")
    roots = list(dict.fromkeys(roots))
    units: dict[str, OrgUnit] = {}
    for part in _batched(roots, 100):
        for raw in client.iter_pages(
            "organisationUnits",
            fields=OU_FIELDS,
            filters=[f"id:in:[{','.join(part)}]"],
            page_size=page_size,
        ):
            unit = _unit(raw)
            units[unit.id] = unit
    missing = [uid for uid in roots if uid not in units]
    if include_descendants:
        for root in roots:
            if root not in units:
                continue
            for raw in client.iter_pages(
                "organisationUnits",
                fields=OU_FIELDS,
                filters=[f"path:like:{root}"],
                page_size=page_size,
                params={"order": "id:asc"},
            ):
                unit = _unit(raw)
                if root in unit.path.split("/"):  # `like` is a substring match: be exact
                    units.setdefault(unit.id, unit)
    wanted = set(assigned) if assigned is not None else None
    candidates: Iterable[OrgUnit] = (
        units.values() if include_descendants else (units[r] for r in roots if r in units)
    )
    assessed = sorted(
        (
            u
            for u in candidates
            if (level is None or u.level == level) and (wanted is None or u.id in wanted)
        ),
        key=lambda u: u.path,
    )
    return Selection(units=units, assessed=[u.id for u in assessed], missing_roots=missing)


def _unit(raw: Any) -> OrgUnit:
    if not isinstance(raw, dict) or not raw.get("id"):
        raise UnexpectedResponse("DHIS2 listed an organisation unit without an id.")
    return OrgUnit.from_dhis2(raw)


@dataclass(frozen=True)
class RollUp:
    """One ancestor's figures for one period (see the module docstring)."""

    org_unit: str
    org_unit_name: str
    level: int
    path: str
    period: str
    assessed: int
    compliant: int
    non_compliant: int
    no_data: int
    registered: int
    average_compliance: float
    compliant_percent: float


class RollUpAccumulator:
    """Sums per (ancestor, period), fed row by row; memory is one small record per pair, so
    5,000 facilities under 600 ancestors for 12 periods stay a few thousand counters."""

    def __init__(self, units: dict[str, OrgUnit]) -> None:
        self.units = units
        self._sums: dict[tuple[str, str], list[Any]] = {}

    def add(self, result: Compliance, *, registered: bool) -> None:
        unit = self.units.get(result.org_unit)
        if unit is None:
            return
        for ancestor in unit.ancestors:
            if ancestor not in self.units:
                continue  # above the selection: not rolled up
            acc = self._sums.setdefault((ancestor, result.period), [0, 0, 0, 0, Decimal(0)])
            acc[0] += 1
            acc[1] += 1 if result.compliant else 0
            acc[2] += 1 if result.no_data else 0
            acc[3] += 1 if registered else 0
            acc[4] += Decimal(str(result.compliance))

    def results(self) -> list[RollUp]:
        out = []
        for (uid, period), (assessed, compliant, no_data, registered, total) in self._sums.items():
            unit = self.units[uid]
            out.append(
                RollUp(
                    org_unit=uid,
                    org_unit_name=unit.name,
                    level=unit.level,
                    path=unit.path,
                    period=period,
                    assessed=assessed,
                    compliant=compliant,
                    non_compliant=assessed - compliant - no_data,
                    no_data=no_data,
                    registered=registered,
                    average_compliance=round1(total / assessed),
                    compliant_percent=percent(compliant, assessed),
                )
            )
        out.sort(key=lambda r: (r.path, r.period))
        return out
