"""Data set completeness assessment: the pure core (no Django), driven by a task later.

`assess_completeness(client, spec, sink=..., progress=...)`:

1. **Structure** (`read_data_set`): the data set's elements with their expected option combos
   (the data set element's override category combo when set, else the element's own), the org
   units it is assigned to, its period type.
2. **Periods**: explicit, or relative (`dhis2.periods.relative_periods`) on the server's own
   date (`serverDate`), as transfers resolve them.
3. **Org units** (`completeness.hierarchy.walk_org_units`): the selection walked to any depth
   or one level; only units the data set is assigned to are assessed.
4. **Values**: `plan_reads` splits the forms into requests of whole forms: blocks of up to
   `per_request` assessed org units listed explicitly (no `children`), each with as many
   periods as fit `VALUES_PER_REQUEST` and the URL limit. Each plan is one
   `GET /api/dataValueSets?dataSet&period...&orgUnit...` and one
   `GET /api/completeDataSetRegistrations` for the same forms, on at most `max_concurrency`
   threads, read ahead a bounded number of plans and consumed in plan order, so the rows of a
   plan can be judged and handed to `sink` at once.
5. **Rows** go to `sink(rows)` per block (bulk inserts); only the summary counters and the
   roll-up sums stay in memory, so 5,000 org units x 12 periods never sit in memory at once.

A form counts as registered when DHIS2 holds a registration for it in any attribute option
combo whose `completed` is not false (2.30+ can store `completed: false`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple

from dhis2.closing import ClosesPool
from dhis2.errors import Dhis2Error, NotFound, UnexpectedResponse
from dhis2.periods import get_period_type, parse_period, relative_periods

from .compliance import DISAGGREGATIONS, Compliance, DataSetStructure, compliance_by_form, round1
from .hierarchy import OrgUnit, RollUp, RollUpAccumulator, Selection, walk_org_units

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = [
    "SUMMARY_FIELDS",
    "AssessmentFailed",
    "AssessmentResult",
    "AssessmentRow",
    "AssessmentSpec",
    "Summary",
    "assess_completeness",
    "read_data_set",
    "read_registrations",
    "resolve_periods",
    "validate_spec",
]

_COMBO = "categoryCombo[id,categoryOptionCombos[id]]"
DATA_SET_FIELDS = (
    f"id,name,periodType,categoryCombo[id],"
    f"dataSetElements[dataElement[id,name,{_COMBO}],{_COMBO}],organisationUnits[id]"
)

Progress = Callable[[float, str], None]
Sink = Callable[[list["AssessmentRow"]], None]


class AssessmentFailed(Exception):
    """The assessment could not run or stopped midway; the message says what to fix."""


@dataclass
class AssessmentSpec:
    """What to assess (field names follow the API parameters)."""

    data_set: str
    org_units: list[str]
    periods: list[str] = field(default_factory=list)
    relative_period: str | None = None
    relative_count: int | None = None
    include_descendants: bool = True
    level: int | None = None
    required_data_elements: list[str] = field(default_factory=list)
    threshold: float = 100.0
    disaggregation: str = "any"
    per_request: int = 200
    max_concurrency: int = 4


def validate_spec(spec: AssessmentSpec) -> list[str]:
    """Configuration errors, as sentences (empty when the spec can run)."""
    errors = []
    if not spec.data_set:
        errors.append("Choose a data set.")
    if not spec.org_units:
        errors.append("Choose at least one org unit.")
    if not spec.periods and not spec.relative_period:
        errors.append("Give explicit periods or choose a relative period.")
    if spec.periods and spec.relative_period:
        errors.append("Use either explicit periods or a relative period, not both.")
    if spec.disaggregation not in DISAGGREGATIONS:
        errors.append(f"Disaggregation must be 'any' or 'all', not {spec.disaggregation!r}.")
    if not 0 <= spec.threshold <= 100:
        errors.append("The threshold must be between 0 and 100 percent.")
    if spec.level is not None and (spec.level < 1 or not spec.include_descendants):
        errors.append("A level is 1 or more and applies only with include descendants.")
    if not 1 <= spec.per_request <= 500:
        errors.append("Org units per request must be between 1 and 500.")
    if not 1 <= spec.max_concurrency <= 32:
        errors.append("Parallel requests must be between 1 and 32.")
    return errors


@dataclass(frozen=True)
class AssessmentRow:
    """One (org unit, period) result, ready to be stored (`CompletenessRow`)."""

    org_unit: str
    org_unit_name: str
    level: int
    path: str
    period: str
    present: list[str]
    missing: list[str]
    compliance: float
    compliant: bool
    no_data: bool
    registered: bool


#: The summary's figures in the order the API, the run's stats and the exports show them;
#: `CompletenessAssessment` stores the same figures under the same names.
SUMMARY_FIELDS = (
    "assessed",
    "compliant",
    "non_compliant",
    "no_data",
    "average_compliance",
    "registered",
)


@dataclass
class Summary:
    """Totals over all rows: `compliant + non_compliant + no_data = assessed`;
    `average_compliance` is the mean of the rows' compliance (no-data rows count as 0)."""

    assessed: int = 0
    compliant: int = 0
    non_compliant: int = 0
    no_data: int = 0
    registered: int = 0
    average_compliance: float = 0.0
    _total: Decimal = field(default=Decimal(0), repr=False, compare=False)

    def add(self, row: AssessmentRow) -> None:
        self.assessed += 1
        if row.no_data:
            self.no_data += 1
        elif row.compliant:
            self.compliant += 1
        else:
            self.non_compliant += 1
        self.registered += 1 if row.registered else 0
        self._total += Decimal(str(row.compliance))
        self.average_compliance = round1(self._total / self.assessed)

    def as_dict(self) -> dict[str, Any]:
        """The figures for the run's stats (the running total stays internal)."""
        return {name: getattr(self, name) for name in SUMMARY_FIELDS}


@dataclass
class AssessmentResult:
    data_set: DataSetStructure
    periods: list[str]
    summary: Summary
    rollups: list[RollUp]
    counted_elements: list[str]
    missing_org_units: list[str]
    requests: int = 0


# ---- reading ------------------------------------------------------------------------------


def _combo_ids(combo: Any) -> frozenset[str]:
    if not isinstance(combo, dict):
        return frozenset()
    return frozenset(
        str(c["id"])
        for c in combo.get("categoryOptionCombos") or []
        if isinstance(c, dict) and c.get("id")
    )


def read_data_set(client: Client, uid: str) -> DataSetStructure:
    """`GET /api/dataSets/{uid}` with the fields completeness needs (reference §3)."""
    try:
        body = client.get_json(f"dataSets/{uid}", params={"fields": DATA_SET_FIELDS})
    except NotFound as exc:
        raise AssessmentFailed(f"Data set {uid} does not exist on the instance.") from exc
    if not isinstance(body, dict):
        raise UnexpectedResponse(f"DHIS2 answered dataSets/{uid} without a data set object.")
    elements: dict[str, frozenset[str]] = {}
    names: dict[str, str] = {}
    for dse in body.get("dataSetElements") or []:
        if not isinstance(dse, dict):
            continue
        element = dse.get("dataElement") or {}
        de_uid = element.get("id")
        if not de_uid:
            continue
        override = _combo_ids(dse.get("categoryCombo"))
        elements[de_uid] = override or _combo_ids(element.get("categoryCombo"))
        names[de_uid] = str(element.get("name") or de_uid)
    assigned = frozenset(
        str(o["id"]) for o in body.get("organisationUnits") or [] if isinstance(o, dict)
    )
    return DataSetStructure(
        uid=uid,
        name=str(body.get("name") or uid),
        period_type=str(body.get("periodType") or ""),
        elements=elements,
        element_names=names,
        assigned=assigned,
        attribute_combo=(body.get("categoryCombo") or {}).get("id"),
    )


def resolve_periods(client: Client, structure: DataSetStructure, spec: AssessmentSpec) -> list[str]:
    """Explicit periods (checked against the data set's type), or the relative choice resolved
    on the server's own date: DHIS2 resolves relative periods on its clock."""
    if spec.periods:
        ids: list[str] = []
        wrong = []
        for pid in dict.fromkeys(p.strip() for p in spec.periods if p.strip()):
            try:
                period = parse_period(pid)
            except ValueError:
                wrong.append(pid)
                continue
            if period.period_type != structure.period_type:
                wrong.append(pid)
            elif period.id not in ids:
                ids.append(period.id)
        if wrong:
            raise AssessmentFailed(
                f"These periods are not {structure.period_type} periods of data set "
                f"{structure.name}: {', '.join(wrong)}."
            )
        return ids
    get_period_type(structure.period_type)
    server_date = str(client.system_info().get("serverDate") or "")[:10]
    try:
        today = date.fromisoformat(server_date)
    except ValueError:
        today = date.today()
    choice = spec.relative_period or ""
    return [
        p.id
        for p in relative_periods(structure.period_type, choice, today=today, n=spec.relative_count)
    ]


def _form_params(
    data_set: str, periods: Sequence[str], org_units: Sequence[str]
) -> list[tuple[str, str]]:
    """The query of the forms of a data set: DHIS2 takes `period` and `orgUnit` repeated, so
    one request covers many forms (the values and the registrations read alike)."""
    params = [("dataSet", data_set)]
    params.extend(("period", p) for p in periods)
    params.extend(("orgUnit", ou) for ou in org_units)
    return params


def read_registrations(
    client: Client, *, data_set: str, periods: Sequence[str], org_units: Sequence[str]
) -> dict[tuple[str, str], list[str]]:
    """Completed registrations of these forms: (org unit, period) -> attribute option combos.
    A registration with `completed: false` is not a completion."""
    if not org_units or not periods:
        return {}
    params = _form_params(data_set, periods, org_units)
    body = client.get_json("completeDataSetRegistrations", params=params)  # type: ignore[arg-type]
    found: dict[tuple[str, str], list[str]] = {}
    items = body.get("completeDataSetRegistrations") if isinstance(body, dict) else None
    wanted_ous, wanted_pes = set(org_units), set(periods)
    for item in items or []:
        if not isinstance(item, dict) or item.get("completed") is False:
            continue
        ou, pe = item.get("organisationUnit"), item.get("period")
        if ou in wanted_ous and pe in wanted_pes:
            found.setdefault((ou, pe), []).append(str(item.get("attributeOptionCombo") or ""))
    return found


# ---- running ------------------------------------------------------------------------------

#: Most values one `GET /api/dataValueSets` answer should hold (forms x expected option
#: combos): bounds the answer's memory while letting small data sets go in a few requests.
VALUES_PER_REQUEST = 50_000
#: Longest query string of one request. Tomcat (DHIS2's server) and nginx refuse request lines
#: beyond 8 KB by default; 200 explicit org units and 12 monthly periods are about 4.3 KB.
MAX_QUERY_CHARS = 6_000


@dataclass(frozen=True)
class ReadPlan:
    """One request pair: the values and the registrations of these org units x periods."""

    index: int
    org_units: tuple[str, ...]
    periods: tuple[str, ...]


class _Value(NamedTuple):
    """The fields of an exported data value that compliance reads (`compliance.ValueLike`)."""

    data_element: str | None
    period: str
    org_unit: str | None
    category_option_combo: str | None
    value: str | None
    deleted: bool


def _chunks(items: Sequence[str], size: int) -> list[tuple[str, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def plan_reads(
    assessed: Sequence[str], periods: Sequence[str], *, per_request: int, cells: int
) -> list[ReadPlan]:
    """Split the forms into requests of whole forms: blocks of at most `per_request` org units,
    each with as many periods as `VALUES_PER_REQUEST` (at `cells` values per form at most)
    and `MAX_QUERY_CHARS` allow. DHIS2 takes `period` and `orgUnit` repeated in one
    `dataValueSets` or `completeDataSetRegistrations` request, so 5,000 org units x 12 months
    are 25 request pairs instead of 1,200 (one per block and period) with one registration
    read per block; at 30 ms per request that is most of the difference.
    """
    if not assessed or not periods:
        return []
    forms_budget = max(1, VALUES_PER_REQUEST // max(1, cells))
    ou_chars = max(len(ou) for ou in assessed) + len("&orgUnit=")
    pe_chars = max(len(pe) for pe in periods) + len("&period=")
    fixed = len("dataSet=") + 11
    size = max(1, min(per_request, forms_budget, (MAX_QUERY_CHARS - fixed - pe_chars) // ou_chars))
    per_periods = max(
        1,
        min(
            len(periods),
            forms_budget // size,
            (MAX_QUERY_CHARS - fixed - size * ou_chars) // pe_chars,
        ),
    )
    plans: list[ReadPlan] = []
    for block in _chunks(assessed, size):
        for group in _chunks(periods, per_periods):
            plans.append(ReadPlan(len(plans), block, group))
    return plans


def read_values(client: Client, *, data_set: str, plan: ReadPlan) -> list[_Value]:
    """`GET /api/dataValueSets` of the plan's forms (reference §4; no `children`: exactly the
    listed org units, so every answer holds whole forms)."""
    params = _form_params(data_set, plan.periods, plan.org_units)
    body = client.get_json("dataValueSets", params=params)  # type: ignore[arg-type]
    if not isinstance(body, dict):
        raise UnexpectedResponse(
            f"DHIS2 answered the data value request with {type(body).__name__} instead of a "
            "data value set; check the instance URL."
        )
    raw = body.get("dataValues") or []  # an empty set may come without the key
    if not isinstance(raw, list):
        raise UnexpectedResponse("DHIS2's data value set has no dataValues list.")
    return [
        _Value(
            data_element=_text(item.get("dataElement")),
            period=str(item.get("period") or ""),
            org_unit=_text(item.get("orgUnit")),
            category_option_combo=_text(item.get("categoryOptionCombo")),
            value=None if item.get("value") is None else str(item.get("value")),
            deleted=bool(item.get("deleted")),
        )
        for item in raw
        if isinstance(item, dict)
    ]


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _describe(plan: ReadPlan) -> str:
    shown = ", ".join(plan.org_units[:3])
    more = len(plan.org_units) - 3
    periods = ", ".join(plan.periods)
    return f"period(s) {periods}, org units {shown}" + (f" and {more} more" if more > 0 else "")


def _row(result: Compliance, unit: OrgUnit, registered: bool) -> AssessmentRow:
    return AssessmentRow(
        org_unit=unit.id,
        org_unit_name=unit.name,
        level=unit.level,
        path=unit.path,
        period=result.period,
        present=list(result.present),
        missing=list(result.missing),
        compliance=result.compliance,
        compliant=result.compliant,
        no_data=result.no_data,
        registered=registered,
    )


Answer = tuple[list[_Value], dict[tuple[str, str], list[str]]]


class _Reader(ClosesPool):
    """Reads the plans on at most `max_concurrency` threads (values and registrations of a
    plan are two requests in flight at once) and yields the answers in plan order. At most
    `2 * max_concurrency` plans are read ahead, which bounds memory while rows are stored."""

    def __init__(
        self, client: Client, data_set: str, plans: Sequence[ReadPlan], max_concurrency: int
    ) -> None:
        self.client, self.data_set, self.plans = client, data_set, plans
        self.ahead = 2 * max(1, max_concurrency)
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, max_concurrency), thread_name_prefix="dhis2sync-compl"
        )

    def _values(self, plan: ReadPlan) -> list[_Value]:
        try:
            return read_values(self.client, data_set=self.data_set, plan=plan)
        except Dhis2Error as exc:
            raise AssessmentFailed(
                f"Could not read data values ({_describe(plan)}): {exc}"
            ) from exc

    def _registrations(self, plan: ReadPlan) -> dict[tuple[str, str], list[str]]:
        try:
            return read_registrations(
                self.client, data_set=self.data_set, periods=plan.periods, org_units=plan.org_units
            )
        except Dhis2Error as exc:
            raise AssessmentFailed(f"Could not read completeness registrations: {exc}") from exc

    def __iter__(self) -> Iterator[tuple[ReadPlan, Answer]]:
        pending: deque[tuple[ReadPlan, Future[list[_Value]], Future[Any]]] = deque()
        remaining = iter(self.plans)

        def fill() -> None:
            while len(pending) < self.ahead and (plan := next(remaining, None)) is not None:
                pending.append(
                    (
                        plan,
                        self.pool.submit(self._values, plan),
                        self.pool.submit(self._registrations, plan),
                    )
                )

        fill()
        while pending:
            plan, values, registrations = pending.popleft()
            answer = (values.result(), registrations.result())
            fill()
            yield plan, answer


def assess_completeness(
    client: Client,
    spec: AssessmentSpec,
    *,
    sink: Sink,
    progress: Progress | None = None,
) -> AssessmentResult:
    """Run one assessment (see the module docstring). Rows go to `sink` block by block; what
    `sink` or `progress` raises (a cancellation) stops the run unchanged. Raises
    `AssessmentFailed` with a readable message for configuration and DHIS2 problems."""
    errors = validate_spec(spec)
    if errors:
        raise AssessmentFailed(" ".join(errors))
    report = progress or (lambda percent, message: None)
    report(0.0, "Reading the data set")
    try:
        structure = read_data_set(client, spec.data_set)
        counted = list(structure.counted(spec.required_data_elements or None))
        periods = resolve_periods(client, structure, spec)
        report(2.0, "Reading the org unit hierarchy")
        selection = walk_org_units(
            client,
            roots=spec.org_units,
            include_descendants=spec.include_descendants,
            level=spec.level,
            assigned=structure.assigned,
        )
    except Dhis2Error as exc:  # before ValueError: UnexpectedResponse is both
        raise AssessmentFailed(f"Could not read the metadata: {exc}") from exc
    except ValueError as exc:  # unknown required elements, periods, level without descendants
        raise AssessmentFailed(str(exc)) from exc
    if not counted:
        raise AssessmentFailed(f"Data set {structure.name} has no data elements to assess.")

    summary = Summary()
    rollups = RollUpAccumulator(selection.units)
    result = AssessmentResult(
        data_set=structure,
        periods=periods,
        summary=summary,
        rollups=[],
        counted_elements=counted,
        missing_org_units=selection.missing_roots,
    )
    cells = sum(max(1, len(structure.elements.get(uid) or ())) for uid in structure.elements)
    plans = plan_reads(selection.assessed, periods, per_request=spec.per_request, cells=cells)
    report(5.0, f"Assessing {len(selection.assessed)} org units for {len(periods)} period(s)")
    for rows in _judged(client, spec, structure, selection, plans, report, result):
        for row, judged in rows:
            summary.add(row)
            rollups.add(judged, registered=row.registered)
        sink([row for row, _ in rows])
    result.rollups = rollups.results()
    report(100.0, "Assessment done")
    return result


def _judged(
    client: Client,
    spec: AssessmentSpec,
    structure: DataSetStructure,
    selection: Selection,
    plans: list[ReadPlan],
    report: Progress,
    result: AssessmentResult,
) -> Iterator[list[tuple[AssessmentRow, Compliance]]]:
    """Rows per read plan, in plan order (block after block, each for its periods)."""
    reader = _Reader(client, structure.uid, plans, spec.max_concurrency)
    try:
        for done, (plan, (values, registered)) in enumerate(reader, 1):
            result.requests += 2
            members, wanted = set(plan.org_units), set(plan.periods)
            rows = []
            for judged in compliance_by_form(
                structure,
                values,
                forms=[(ou, pe) for pe in plan.periods for ou in plan.org_units],
                required=spec.required_data_elements or None,
                disaggregation=spec.disaggregation,
                threshold=spec.threshold,
            ):
                if judged.org_unit not in members or judged.period not in wanted:
                    continue  # DHIS2 answered more than asked: not ours to judge here
                unit_info = selection.units[judged.org_unit]
                form = (judged.org_unit, judged.period)
                rows.append((_row(judged, unit_info, form in registered), judged))
            yield rows
            report(
                5.0 + 94.0 * done / max(1, len(plans)),
                f"Assessed {done} of {len(plans)} blocks (period {', '.join(plan.periods)})",
            )
    finally:
        reader.close()
