"""Reading stored results: the one filter the API, the pages and the exports share, and the
figures the results page draws (heat map cells, bars per level). Plain ORM reads, no DHIS2."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Avg, Count, Q, QuerySet

from .compliance import round1
from .models import CompletenessAssessment, CompletenessRollup, CompletenessRow

STATUSES = ("compliant", "non_compliant", "no_data")
#: `ordering=` values; a leading "-" reverses. Ties keep the stable period/path order.
ORDERINGS = ("compliance", "org_unit_name", "period", "level", "registered")


@dataclass(frozen=True)
class RowFilter:
    """The query parameters of a results listing, already checked (see `parse_filter`)."""

    status: str = ""
    level: int | None = None
    search: str = ""
    ordering: str = ""


def parse_filter(params: dict[str, str]) -> RowFilter:
    """Check `status`, `level`, `search`, `ordering` from a query string; a bad value is a
    `ValidationError` keyed by the parameter (a 400, never a 500)."""
    errors: dict[str, list[str]] = {}
    status = (params.get("status") or "").strip()
    if status and status not in STATUSES:
        errors["status"] = [f"Choose one of {', '.join(STATUSES)}, not {status!r}."]
    level: int | None = None
    raw_level = (params.get("level") or "").strip()
    if raw_level:
        try:
            level = int(raw_level)
        except ValueError:
            errors["level"] = ["Give a whole number."]
    ordering = (params.get("ordering") or "").strip()
    if ordering and ordering.lstrip("-") not in ORDERINGS:
        shown = ", ".join(ORDERINGS)
        errors["ordering"] = [f"Order by one of {shown} (prefix - to reverse), not {ordering!r}."]
    if errors:
        raise ValidationError(errors)
    return RowFilter(status, level, (params.get("search") or "").strip()[:100], ordering)


def filter_rows(assessment: CompletenessAssessment, rows: RowFilter) -> QuerySet[CompletenessRow]:
    qs = CompletenessRow.objects.filter(assessment=assessment)
    if rows.status == "compliant":
        qs = qs.filter(compliant=True)
    elif rows.status == "non_compliant":
        qs = qs.filter(compliant=False, no_data=False)
    elif rows.status == "no_data":
        qs = qs.filter(no_data=True)
    if rows.level is not None:
        qs = qs.filter(level=rows.level)
    if rows.search:
        qs = qs.filter(
            Q(org_unit_name__icontains=rows.search)
            | Q(org_unit=rows.search)
            | Q(period=rows.search)
        )
    if rows.ordering:
        qs = qs.order_by(rows.ordering, "period", "path", "pk")
    else:
        qs = qs.order_by("period", "path", "pk")
    return qs


def levels(assessment: CompletenessAssessment) -> list[int]:
    """The levels of the assessed rows (for the level filter)."""
    return sorted(
        set(
            CompletenessRow.objects.filter(assessment=assessment)
            .values_list("level", flat=True)
            .distinct()
        )
    )


# ---- charts ---------------------------------------------------------------------------------


def bucket(compliance: float | None) -> str:
    """The CSS class of a compliance figure: `c0` (0-9 %) ... `c10` (100 %), `nd` no data."""
    if compliance is None:
        return "nd"
    return f"c{min(10, max(0, int(compliance // 10)))}"


@dataclass
class HeatMap:
    periods: list[str]
    units: list[tuple[str, str]]  # (uid, name), in the table's path order
    cells: dict[tuple[str, str], CompletenessRow] = field(default_factory=dict)
    total_units: int = 0

    def grid(self) -> list[tuple[str, str, list[tuple[str, CompletenessRow | None, str]]]]:
        """Rows of (uid, name, [(period, row or None, CSS class)])."""
        out = []
        for uid, name in self.units:
            cells = []
            for pe in self.periods:
                row = self.cells.get((uid, pe))
                css = "absent" if row is None else bucket(None if row.no_data else row.compliance)
                cells.append((pe, row, css))
            out.append((uid, name, cells))
        return out


def heat_map(
    assessment: CompletenessAssessment, rows: RowFilter, *, max_units: int = 60, offset: int = 0
) -> HeatMap:
    """Org units (those the filter keeps, in hierarchy order) x periods, `max_units` at a time
    from `offset`: a page of the map, so thousands of facilities never render at once."""
    qs = filter_rows(assessment, RowFilter(rows.status, rows.level, rows.search))
    units_qs = qs.order_by("path", "org_unit").values_list("org_unit", "org_unit_name").distinct()
    total = units_qs.count()
    units = list(units_qs[offset : offset + max_units])
    periods = list(assessment.periods) or sorted(set(qs.values_list("period", flat=True)))
    cells = {
        (r.org_unit, r.period): r
        for r in qs.filter(org_unit__in=[u for u, _ in units]).only(
            "org_unit", "period", "compliance", "compliant", "no_data", "registered", "missing"
        )
    }
    return HeatMap(periods=periods, units=units, cells=cells, total_units=total)


@dataclass(frozen=True)
class Bar:
    org_unit: str
    name: str
    value: float  # mean compliance over the assessment's periods
    compliant_percent: float
    assessed: int


@dataclass(frozen=True)
class LevelChart:
    level: int
    bars: list[Bar]
    total: int


def level_charts(assessment: CompletenessAssessment, *, max_bars: int = 25) -> list[LevelChart]:
    """One chart per level: a bar per org unit of that level with the mean compliance of the
    forms below it over all periods (roll-ups), or of its own forms at the assessed level.
    The lowest figures come first: that is where people need to look."""
    charts = []
    sums: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    names: dict[str, str] = {}
    for r in CompletenessRollup.objects.filter(assessment=assessment).only(
        "org_unit", "org_unit_name", "level", "assessed", "compliant", "average_compliance"
    ):
        acc = sums[(r.level, r.org_unit)]
        acc[0] += Decimal(str(r.average_compliance)) * r.assessed
        acc[1] += r.compliant
        acc[2] += r.assessed
        names[r.org_unit] = r.org_unit_name
    for row in (
        CompletenessRow.objects.filter(assessment=assessment)
        .values("level", "org_unit", "org_unit_name")
        .annotate(avg=Avg("compliance"), n=Count("id"), ok=Count("id", filter=Q(compliant=True)))
    ):
        key = (row["level"], row["org_unit"])
        if key in sums:
            continue  # a unit with its own form and units below it: its roll-up speaks
        sums[key] = [
            Decimal(str(row["avg"] or 0)) * row["n"],
            Decimal(row["ok"]),
            Decimal(row["n"]),
        ]
        names[row["org_unit"]] = row["org_unit_name"]
    by_level: dict[int, list[Bar]] = defaultdict(list)
    for (level, uid), (total, ok, n) in sums.items():
        if not n:
            continue
        by_level[level].append(
            Bar(uid, names.get(uid, uid), round1(total / n), round1(ok * 100 / n), int(n))
        )
    for level in sorted(by_level):
        bars = sorted(by_level[level], key=lambda b: (b.value, b.name))
        charts.append(LevelChart(level, bars[:max_bars], len(bars)))
    return charts
