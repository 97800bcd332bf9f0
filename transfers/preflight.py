"""Preflight: read both instances' metadata before any write and list what would go wrong.

Checked (reference §3, §10):

* the source data set exists (fatal otherwise: nothing can be read), the destination data set
  exists (without it values are posted without `dataSet` and completeness is skipped);
* every destination data element the values will land on exists (rows' targets, and with the
  "send" policy the unmapped source elements themselves) and belongs to the destination data
  set (warning only: DHIS2 stores values of elements outside the set);
* every destination option combo exists and belongs to the category combo of its element
  (the data set element's override first), likewise attribute option combos for the data
  set's attribute combo;
* every destination org unit that can receive data (the source data set's org units inside
  the selection, through the org unit map) exists and is assigned to the destination data set;
* with the CODE scheme, every source object has a code (DHIS2 exports null otherwise);
* the periods are valid, of the data set's period type (DHIS2 returns nothing for others, and
  the run would "succeed") and of a type the destination's version supports;
* rows and maps are one-to-one: values of two source objects landing on one destination object
  would overwrite each other (warning; the run reports the later ones as conflicts instead).

Severities: `fatal` stops the run even when the user allowed problems, `error` stops it unless
`continue_on_preflight_problems`, `warning` never stops it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dhis2.errors import NotFound
from dhis2.periods import PeriodError, get_period_type, period_type_of
from dhis2.version import Version

from .fetch import OrgUnitBlock, SourceClock, outermost, plan_blocks, source_clock
from .mapping import Collisions, Mapper, Pair, duplicate_rows

if TYPE_CHECKING:
    from dhis2.client import Client

    from .engine import TransferSpec

__all__ = [
    "DEFAULT_COC_UID",
    "Plan",
    "PreflightProblem",
    "make_mapper",
    "org_units_per_request",
    "prepare",
]

DEFAULT_COC_UID = "HllvX50cXC0"
_COMBO = "categoryCombo[id,name,categoryOptionCombos[id,code,name]]"
DATA_SET_FIELDS = (
    f"id,name,code,periodType,{_COMBO},"
    f"dataSetElements[dataElement[id,code,name,{_COMBO}],{_COMBO}],"
    "organisationUnits[id,code,name,path]"
)
_SHOWN = 10


@dataclass
class PreflightProblem:
    """A problem found before any write. `objects` are identifiers in the transfer's scheme."""

    code: str
    message: str
    objects: list[str] = field(default_factory=list)
    severity: str = "error"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "objects": list(self.objects),
            "severity": self.severity,
        }


@dataclass
class Plan:
    """Everything the run needs from the metadata, plus the problems found."""

    problems: list[PreflightProblem]
    clock: SourceClock
    source_version: str = ""
    destination_version: str = ""
    source_default: str | None = None
    destination_default: str | None = None
    target_data_set: str | None = None
    data_set_name: str = ""
    blocks: list[OrgUnitBlock] = field(default_factory=list)
    collisions: Collisions = field(default_factory=Collisions)
    """Many-to-one parts of the mapping; the run guards against duplicates only when set."""
    org_unit_names: dict[str, str] = field(default_factory=dict)
    """Source org unit UID -> name, of the units the source data set is assigned to."""

    def blocking(self, allow_problems: bool) -> list[PreflightProblem]:
        stops = {"fatal"} if allow_problems else {"fatal", "error"}
        return [p for p in self.problems if p.severity in stops]


class _Ids:
    """Identifier of a metadata object in the transfer's scheme (UID or code)."""

    def __init__(self, scheme: str) -> None:
        self.scheme = scheme

    def __call__(self, obj: dict[str, Any] | None) -> str | None:
        if not isinstance(obj, dict):
            return None
        value = obj.get("id") if self.scheme == "UID" else obj.get("code")
        return value if isinstance(value, str) and value else None


def _label(obj: dict[str, Any] | None, ident: str) -> str:
    name = obj.get("name") if isinstance(obj, dict) else None
    return f"{name} ({ident})" if name and name != ident else ident


def _listing(labels: Sequence[str]) -> str:
    shown = ", ".join(labels[:_SHOWN])
    return shown + (f" and {len(labels) - _SHOWN} more" if len(labels) > _SHOWN else "")


def _get_data_set(client: Client, uid: str) -> dict[str, Any] | None:
    try:
        body = client.get_json(f"dataSets/{uid}", params={"fields": DATA_SET_FIELDS})
    except NotFound:
        return None
    return body if isinstance(body, dict) else None


def _default_coc(client: Client) -> dict[str, Any] | None:
    """The instance's default option combo (other UIDs on old databases: reference §10)."""
    combos = client.list_all(
        "categoryCombos",
        fields="id,name,categoryOptionCombos[id,code,name]",
        filters=["name:eq:default"],
    )
    for combo in combos:
        cocs = combo.get("categoryOptionCombos") or []
        if cocs and isinstance(cocs[0], dict):
            return cocs[0]
    return None


def _lookup(
    client: Client, resource: str, idents: Iterable[str], scheme: str, fields: str, batch: int
) -> dict[str, dict[str, Any]]:
    """Objects of `resource` by identifier, `in` filters of at most `batch` identifiers."""
    prop = "id" if scheme == "UID" else "code"
    wanted = sorted({i for i in idents if i})
    found: dict[str, dict[str, Any]] = {}
    plain = [i for i in wanted if not any(c in i for c in ",[]")]
    odd = [i for i in wanted if i not in plain]
    for start in range(0, len(plain), max(1, batch)):
        part = plain[start : start + batch]
        items = client.list_all(resource, fields=fields, filters=[f"{prop}:in:[{','.join(part)}]"])
        for item in items:
            if isinstance(item, dict) and item.get(prop):
                found[str(item[prop])] = item
    for ident in odd:  # codes with commas or brackets cannot go into an `in` list
        for item in client.list_all(resource, fields=fields, filters=[f"{prop}:eq:{ident}"]):
            if isinstance(item, dict) and item.get(prop):
                found[str(item[prop])] = item
    return found


def _combo_cocs(dse: dict[str, Any]) -> list[dict[str, Any]]:
    """Option combos of a data set element: the element's combo unless the set overrides it."""
    combo = dse.get("categoryCombo") or (dse.get("dataElement") or {}).get("categoryCombo") or {}
    return [c for c in combo.get("categoryOptionCombos") or [] if isinstance(c, dict)]


def make_mapper(spec: TransferSpec, source_default: str | None, dest_default: str | None) -> Mapper:
    return Mapper(
        spec.mappings,
        attribute_option_combo_map=spec.attribute_option_combo_map,
        org_unit_map=spec.org_unit_map,
        unmapped=spec.unmapped,
        source_default_coc=source_default,
        destination_default_coc=dest_default,
        require_combos=spec.id_scheme != "UID",
        profile_mappings=spec.profile_mappings,
    )


def org_units_per_request(
    src_ds: dict[str, Any], *, most_org_units: int, most_values: int | None
) -> int:
    """Org units one source request may cover so that its answer holds at most about
    `most_values` values: an answer is decoded whole, so its size is the transfer's memory.

    In a period (one request reads one period) an org unit's form has one value per data set
    element, option combo of the element and attribute option combo of the data set, so that
    product is what one org unit brings at most (give or take values DHIS2 holds outside the
    data set's combos). Sparse data is overstated, which only makes requests smaller than they
    could be. At least one org unit per request, at most `most_org_units`; `most_values` None
    plans by `most_org_units` alone."""
    if most_values is None:
        return max(1, most_org_units)
    dses = [d for d in src_ds.get("dataSetElements") or [] if isinstance(d, dict)]
    form = sum(max(1, len(_combo_cocs(d))) for d in dses)
    attribute_combos = [
        c
        for c in (src_ds.get("categoryCombo") or {}).get("categoryOptionCombos") or []
        if isinstance(c, dict)
    ]
    per_org_unit = max(1, form) * max(1, len(attribute_combos))
    return max(1, min(most_org_units, most_values // per_org_unit))


def prepare(
    source: Client,
    destination: Client,
    spec: TransferSpec,
    *,
    per_request: int,
    batch: int,
    values_per_request: int | None = None,
) -> Plan:
    """Read the metadata of both sides; return the plan and its problems (never raises for a
    missing object; network and permission errors propagate as `Dhis2Error`).

    Source requests cover at most `per_request` org units, fewer when the data set's forms
    are so large that an answer would hold more than about `values_per_request` values
    (`org_units_per_request`)."""
    ident = _Ids(spec.id_scheme)
    code_scheme = spec.id_scheme != "UID"
    info = source.system_info()
    plan = Plan(problems=[], clock=source_clock(info), source_version=str(info.get("version")))
    plan.destination_version = str(destination.system_info().get("version"))
    problems = plan.problems

    def add(code: str, message: str, objects: Sequence[str], severity: str = "error") -> None:
        problems.append(PreflightProblem(code, message, list(objects), severity))

    src_ds = _get_data_set(source, spec.data_set)
    if src_ds is None:
        add(
            "missing_source_data_set",
            f"The data set {spec.data_set} does not exist on the source (or this user cannot "
            "see it): nothing can be read. Check the transfer's data set.",
            [spec.data_set],
            "fatal",
        )
        return plan
    plan.data_set_name = str(src_ds.get("name") or spec.data_set)
    _period_problems(
        add, spec.periods, _label(src_ds, spec.data_set), src_ds.get("periodType"),
        plan.destination_version,
    )  # fmt: skip
    target_uid = spec.target_data_set or spec.data_set
    dst_ds = _get_data_set(destination, target_uid)
    if dst_ds is None:
        add(
            "missing_data_set",
            f"The data set {target_uid} does not exist on the destination (or this user "
            "cannot see it). Create or share it there, or choose the right destination data "
            "set. If you continue, values are sent without a data set and completeness is "
            "not registered.",
            [target_uid],
        )
    else:
        plan.target_data_set = target_uid

    src_default = _default_coc(source)
    dst_default = _default_coc(destination)
    fallback = DEFAULT_COC_UID if not code_scheme else "default"
    plan.source_default = ident(src_default) or fallback
    plan.destination_default = ident(dst_default) or fallback
    mapper = make_mapper(spec, plan.source_default, plan.destination_default)

    for dup_de, dup_coc in duplicate_rows(spec.mappings):
        add(
            "duplicate_mapping",
            f"Data element {dup_de}{f' / {dup_coc}' if dup_coc else ''} has more than one "
            "mapping row; the first one is used.",
            [dup_de],
            "warning",
        )

    # ---- org units and fetch plan ------------------------------------------------------------
    roots_found = _lookup(
        source, "organisationUnits", spec.org_units, "UID", "id,code,name,path", batch
    )
    missing_roots = [u for u in spec.org_units if u not in roots_found]
    if missing_roots:
        add(
            "missing_source_org_unit",
            f"{len(missing_roots)} selected org unit(s) do not exist on the source (or are "
            f"outside this user's hierarchy): {_listing(missing_roots)}.",
            missing_roots,
        )
    roots = [
        (u, str(roots_found[u].get("path") or f"/{u}")) for u in spec.org_units if u in roots_found
    ]
    src_ous = [o for o in src_ds.get("organisationUnits") or [] if isinstance(o, dict)]
    assigned = [(str(o.get("id")), str(o.get("path") or "")) for o in src_ous]
    plan.org_unit_names = {str(o.get("id")): str(o.get("name") or "") for o in src_ous}
    plan.blocks = plan_blocks(
        roots,
        assigned,
        include_descendants=spec.include_descendants,
        per_request=org_units_per_request(
            src_ds, most_org_units=per_request, most_values=values_per_request
        ),
    )
    if spec.include_descendants:
        root_ids = {u for u, _ in outermost(roots)}
        candidates = [
            o for o in src_ous if root_ids.intersection(str(o.get("path") or "").split("/"))
        ]
    else:
        candidates = [roots_found[u] for u, _ in roots]

    # ---- codes (CODE scheme) -----------------------------------------------------------------
    dses = [d for d in src_ds.get("dataSetElements") or [] if isinstance(d, dict)]
    if code_scheme:
        no_code = [
            _label(o, str(o.get("id")))
            for o in [
                *(d.get("dataElement") or {} for d in dses),
                *(c for d in dses for c in _combo_cocs(d)),
                *candidates,
            ]
            if isinstance(o, dict) and o.get("id") and not o.get("code")
        ]
        if no_code:
            add(
                "missing_code",
                f"{len(no_code)} source object(s) have no code, so their values cannot be "
                f"matched by code: {_listing(sorted(set(no_code)))}. Give them codes or use "
                "the UID scheme.",
                sorted(set(no_code)),
            )

    # ---- elements and option combos ----------------------------------------------------------
    src_de_ids = set()
    src_pairs: list[Pair] = []
    targets: dict[str, set[str | None]] = {}
    skipped: list[str] = []
    for dse in dses:
        de_obj = dse.get("dataElement") or {}
        de = ident(de_obj)
        if de is None:
            continue
        src_de_ids.add(de)
        for coc in [ident(c) for c in _combo_cocs(dse)] or [plan.source_default]:
            src_pairs.append((de, coc))
            target = mapper.element(de, coc)
            if target is None:
                if not mapper.send_unmapped:
                    skipped.append(de)
                    continue
                target = (de, mapper.combo(coc))
            targets.setdefault(target[0], set()).add(target[1])
    if skipped:
        add(
            "unmapped_skipped",
            f"{len(set(skipped))} data element(s) of the source data set have no mapping row "
            f"and will be skipped: {_listing(sorted(set(skipped)))}.",
            sorted(set(skipped)),
            "warning",
        )
    outside = sorted({r.source_data_element for r in spec.mappings} - src_de_ids)
    if outside:
        add(
            "mapping_outside_data_set",
            f"{len(outside)} mapping row(s) name data elements that are not in the source data "
            f"set, so they never apply: {_listing(outside)}.",
            outside,
            "warning",
        )

    dst_dses = [d for d in (dst_ds or {}).get("dataSetElements") or [] if isinstance(d, dict)]
    known: dict[str, list[dict[str, Any]]] = {}
    for dse in dst_dses:
        de = ident(dse.get("dataElement"))
        if de:
            known[de] = _combo_cocs(dse)
    lookup = [de for de in targets if de not in known]
    found = _lookup(
        destination, "dataElements", lookup, spec.id_scheme, f"id,code,name,{_COMBO}", batch
    )
    missing_des = sorted(de for de in lookup if de not in found)
    if missing_des:
        add(
            "missing_data_element",
            f"{len(missing_des)} data element(s) do not exist on the destination: "
            f"{_listing(missing_des)}. Add mapping rows for them or create them there.",
            missing_des,
        )
    outside_ds = sorted(de for de in lookup if de in found)
    if outside_ds and dst_ds is not None:
        add(
            "data_element_not_in_data_set",
            f"{len(outside_ds)} destination data element(s) are not part of the destination "
            f"data set: {_listing([_label(found[d], d) for d in outside_ds])}. DHIS2 may "
            "reject their values or leave them out of the data set's forms.",
            outside_ds,
            "warning",
        )
    for de in outside_ds:
        known[de] = [
            c
            for c in (found[de].get("categoryCombo") or {}).get("categoryOptionCombos") or []
            if isinstance(c, dict)
        ]

    def check_combos(
        pairs: list[tuple[str, str]], missing_code: str, outside_code: str, what: str
    ) -> None:
        if not pairs:
            return
        existing = _lookup(
            destination,
            "categoryOptionCombos",
            {c for _, c in pairs},
            spec.id_scheme,
            "id,code,name",
            batch,
        )
        missing = sorted({c for _, c in pairs if c not in existing})
        outside = sorted({f"{c} ({owner})" for owner, c in pairs if c in existing})
        if missing:
            add(
                missing_code,
                f"{len(missing)} {what}(s) do not exist on the destination: "
                f"{_listing(missing)}. Map them to destination combos.",
                missing,
            )
        if outside:
            add(
                outside_code,
                f"{len(outside)} {what}(s) exist on the destination but do not "
                f"belong to the category combo they are used with: {_listing(outside)}.",
                outside,
            )

    bad: list[tuple[str, str]] = []
    for de, cocs in targets.items():
        if known.get(de):  # an empty list means the server did not expand the combo: no check
            allowed = {ident(c) for c in known[de]}
            bad.extend((de, c) for c in cocs if c and c not in allowed)
    check_combos(
        bad,
        "missing_category_option_combo",
        "category_option_combo_not_in_combo",
        "category option combo",
    )

    src_attr = [
        ident(c)
        for c in (src_ds.get("categoryCombo") or {}).get("categoryOptionCombos") or []
        if isinstance(c, dict)
    ]
    wanted_aocs = {aoc for a in src_attr if a and (aoc := mapper.attribute_combo(a))}
    if dst_ds is not None:
        allowed_aocs = {
            ident(c)
            for c in (dst_ds.get("categoryCombo") or {}).get("categoryOptionCombos") or []
            if isinstance(c, dict)
        }
        bad_aocs = [(target_uid, a) for a in sorted(wanted_aocs - allowed_aocs) if a]
        if not allowed_aocs:
            bad_aocs = []
        check_combos(
            bad_aocs,
            "missing_attribute_option_combo",
            "attribute_option_combo_not_in_combo",
            "attribute option combo",
        )

    # ---- destination org units ---------------------------------------------------------------
    by_target: dict[str, dict[str, Any]] = {}
    for obj in candidates:
        src = ident(obj)
        if src:
            by_target.setdefault(mapper.org_unit(src), obj)
    dst_assigned = {ident(o) for o in (dst_ds or {}).get("organisationUnits") or []}
    lookup_ous = [o for o in by_target if o not in dst_assigned]
    existing_ous = _lookup(
        destination, "organisationUnits", lookup_ous, spec.id_scheme, "id,code,name", batch
    )
    _org_unit_problems(add, by_target, lookup_ous, existing_ous, dst_ds is not None)

    plan.collisions = mapper.collisions(
        src_pairs, [o for o in (ident(c) for c in candidates) if o], src_attr
    )
    for message, objects in plan.collisions.problems(_SHOWN):
        add("many_to_one_mapping", message, objects, "warning")
    return plan


def _period_problems(
    add: Callable[..., None],
    periods: Sequence[str],
    data_set: str,
    period_type: Any,
    destination_version: str,
) -> None:
    """Invalid periods, periods not of the data set's type, types the destination lacks."""
    by_type: dict[str, list[str]] = {}
    for period in dict.fromkeys(periods):
        try:
            kind = period_type_of(period)
        except PeriodError:
            kind = ""
        by_type.setdefault(kind, []).append(period)
    if invalid := by_type.pop("", []):
        add(
            "invalid_period",
            f"{len(invalid)} period(s) are not valid DHIS2 period identifiers: "
            f"{_listing(invalid)}. Choose periods like 202401 (month) or 2024Q1 (quarter).",
            invalid,
        )
    wrong = {t: ps for t, ps in by_type.items() if period_type and t != period_type}
    if wrong:
        listed = [f"{', '.join(ps)} ({t})" for t, ps in wrong.items()]
        add(
            "period_type_mismatch",
            f"The data set {data_set} has period type {period_type}, but "
            f"{sum(map(len, wrong.values()))} chosen period(s) are of another type: "
            f"{_listing(listed)}. DHIS2 returns no values for them, so nothing would be "
            f"transferred for them; choose {period_type} periods.",
            [p for ps in wrong.values() for p in ps],
        )
    try:
        major = Version(destination_version).major
    except ValueError:
        return  # an unreadable version: the import itself will tell
    for name, ps in by_type.items():
        since = get_period_type(name).min_version
        if since > major:
            add(
                "period_type_unsupported",
                f"The destination runs DHIS2 {destination_version}, which does not support "
                f"{name} periods (DHIS2 2.{since} or later does): {_listing(ps)}. Their "
                "values cannot be stored there.",
                ps,
            )


def _org_unit_problems(
    add: Callable[..., None],
    by_target: dict[str, dict[str, Any]],
    lookup: list[str],
    existing: dict[str, dict[str, Any]],
    data_set_exists: bool,
) -> None:
    missing = sorted(o for o in lookup if o not in existing)
    if missing:
        labels = [_label(by_target[o], o) for o in missing]
        add(
            "missing_org_unit",
            f"{len(missing)} org unit(s) do not exist on the destination: {_listing(labels)}. "
            "Map them to destination org units (org unit map) or create them there.",
            missing,
        )
    unassigned = sorted(o for o in lookup if o in existing)
    if unassigned and data_set_exists:
        labels = [_label(existing[o], o) for o in unassigned]
        add(
            "org_unit_not_assigned",
            f"{len(unassigned)} org unit(s) are not assigned to the destination data set: "
            f"{_listing(labels)}. Assign them to the data set on the destination.",
            unassigned,
        )
