"""ISO period identifiers of DHIS2 (reference §11).

Formats and start dates follow ``core@2.40.0:.../period/*PeriodType.java`` and the examples of
``AdxPeriodTest``. Week numbering uses ``WeekFields.of(<start day>, 4)``: week 1 is the first
week (starting on the type's start day) that contains January 4th.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

WEEKLY_PREFIXES = {
    "Weekly": ("", 0),
    "WeeklyWednesday": ("Wed", 2),
    "WeeklyThursday": ("Thu", 3),
    "WeeklySaturday": ("Sat", 5),
    "WeeklySunday": ("Sun", 6),
}
FINANCIAL_MONTHS = {
    "FinancialApril": ("April", 4),
    "FinancialJuly": ("July", 7),
    "FinancialOct": ("Oct", 10),
    "FinancialNov": ("Nov", 11),
}

# frequency order (days), used to pick the shortest period type
PERIOD_TYPE_DAYS = {
    "Daily": 1,
    "Weekly": 7,
    "WeeklyWednesday": 7,
    "WeeklyThursday": 7,
    "WeeklySaturday": 7,
    "WeeklySunday": 7,
    "BiWeekly": 14,
    "Monthly": 30,
    "BiMonthly": 61,
    "Quarterly": 91,
    "SixMonthly": 182,
    "SixMonthlyApril": 182,
    "SixMonthlyNov": 182,
    "Yearly": 365,
    "FinancialApril": 365,
    "FinancialJuly": 365,
    "FinancialOct": 365,
    "FinancialNov": 365,
}


@dataclass(frozen=True)
class Period:
    iso: str
    period_type: str
    start: date
    end: date

    def overlaps(self, start: date, end: date) -> bool:
        return self.start <= end and self.end >= start


def _week1_start(year: int, start_day: int) -> date:
    jan4 = date(year, 1, 4)
    return jan4 - timedelta(days=(jan4.weekday() - start_day) % 7)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    idx = year * 12 + (month - 1) + delta
    return idx // 12, idx % 12 + 1


def _span_months(year: int, month: int, count: int) -> tuple[date, date]:
    end_y, end_m = _add_months(year, month, count - 1)
    return date(year, month, 1), _month_end(end_y, end_m)


_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "Daily"),
    (re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"), "Daily"),
    (re.compile(r"^(\d{4})W(\d{1,2})$"), "Weekly"),
    (re.compile(r"^(\d{4})WedW(\d{1,2})$"), "WeeklyWednesday"),
    (re.compile(r"^(\d{4})ThuW(\d{1,2})$"), "WeeklyThursday"),
    (re.compile(r"^(\d{4})SatW(\d{1,2})$"), "WeeklySaturday"),
    (re.compile(r"^(\d{4})SunW(\d{1,2})$"), "WeeklySunday"),
    (re.compile(r"^(\d{4})BiW(\d{1,2})$"), "BiWeekly"),
    (re.compile(r"^(\d{4})(\d{2})B$"), "BiMonthly"),
    (re.compile(r"^(\d{4})(\d{2})$"), "Monthly"),
    (re.compile(r"^(\d{4})-(\d{2})$"), "Monthly"),
    (re.compile(r"^(\d{4})Q([1-4])$"), "Quarterly"),
    (re.compile(r"^(\d{4})S([12])$"), "SixMonthly"),
    (re.compile(r"^(\d{4})AprilS([12])$"), "SixMonthlyApril"),
    (re.compile(r"^(\d{4})NovS([12])$"), "SixMonthlyNov"),
    (re.compile(r"^(\d{4})$"), "Yearly"),
    (re.compile(r"^(\d{4})April$"), "FinancialApril"),
    (re.compile(r"^(\d{4})July$"), "FinancialJuly"),
    (re.compile(r"^(\d{4})Oct$"), "FinancialOct"),
    (re.compile(r"^(\d{4})Nov$"), "FinancialNov"),
]


@lru_cache(maxsize=65536)
def parse_period(iso: str) -> Period | None:
    """Parse an ISO period id; ``None`` when it is not a valid DHIS2 period."""
    if not iso or not isinstance(iso, str):
        return None
    for pattern, ptype in _PATTERNS:
        match = pattern.match(iso)
        if match:
            try:
                return _build(iso, ptype, [int(g) for g in match.groups()])
            except ValueError:
                return None
    return None


def _build(iso: str, ptype: str, g: list[int]) -> Period | None:
    year = g[0]
    if ptype == "Daily":
        d = date(year, g[1], g[2])
        return Period(iso, ptype, d, d)
    if ptype in WEEKLY_PREFIXES or ptype == "BiWeekly":
        start_day = WEEKLY_PREFIXES.get(ptype, ("", 0))[1]
        week = g[1]
        first = _week1_start(year, start_day)
        next_first = _week1_start(year + 1, start_day)
        if ptype == "BiWeekly":
            if week < 1:
                return None
            start = first + timedelta(weeks=2 * week - 2)
            if start >= next_first:
                return None
            return Period(iso, ptype, start, start + timedelta(days=13))
        if week < 1 or week > 53:
            return None
        start = first + timedelta(weeks=week - 1)
        if start >= next_first:
            return None
        return Period(iso, ptype, start, start + timedelta(days=6))
    if ptype == "Monthly":
        if not 1 <= g[1] <= 12:
            return None
        return Period(iso, ptype, *_span_months(year, g[1], 1))
    if ptype == "BiMonthly":
        if not 1 <= g[1] <= 6:
            return None
        return Period(iso, ptype, *_span_months(year, 2 * g[1] - 1, 2))
    if ptype == "Quarterly":
        return Period(iso, ptype, *_span_months(year, 3 * g[1] - 2, 3))
    if ptype == "SixMonthly":
        return Period(iso, ptype, *_span_months(year, 6 * g[1] - 5, 6))
    if ptype == "SixMonthlyApril":
        start_y, start_m = (year, 4) if g[1] == 1 else (year, 10)
        return Period(iso, ptype, *_span_months(start_y, start_m, 6))
    if ptype == "SixMonthlyNov":
        start_y, start_m = (year - 1, 11) if g[1] == 1 else (year, 5)
        return Period(iso, ptype, *_span_months(start_y, start_m, 6))
    if ptype == "Yearly":
        return Period(iso, ptype, date(year, 1, 1), date(year, 12, 31))
    if ptype in FINANCIAL_MONTHS:
        month = FINANCIAL_MONTHS[ptype][1]
        start_y = year - 1 if ptype == "FinancialNov" else year
        return Period(iso, ptype, *_span_months(start_y, month, 12))
    return None


def period_for(ptype: str, day: date) -> Period:
    """The period of type ``ptype`` that contains ``day``."""
    y, m = day.year, day.month
    if ptype == "Daily":
        iso = day.strftime("%Y%m%d")
    elif ptype in WEEKLY_PREFIXES or ptype == "BiWeekly":
        prefix, start_day = WEEKLY_PREFIXES.get(ptype, ("Bi", 0))
        start = day - timedelta(days=(day.weekday() - start_day) % 7)
        week_year = (start + timedelta(days=3)).year
        week = (start - _week1_start(week_year, start_day)).days // 7 + 1
        if ptype == "BiWeekly":
            iso = f"{week_year}BiW{(week + 1) // 2}"
        else:
            iso = f"{week_year}{prefix}W{week}"
    elif ptype == "Monthly":
        iso = f"{y}{m:02d}"
    elif ptype == "BiMonthly":
        iso = f"{y}{(m - 1) // 2 + 1:02d}B"
    elif ptype == "Quarterly":
        iso = f"{y}Q{(m - 1) // 3 + 1}"
    elif ptype == "SixMonthly":
        iso = f"{y}S{1 if m <= 6 else 2}"
    elif ptype == "SixMonthlyApril":
        iso = f"{y}AprilS1" if 4 <= m <= 9 else (f"{y}AprilS2" if m >= 10 else f"{y - 1}AprilS2")
    elif ptype == "SixMonthlyNov":
        iso = f"{y + 1}NovS1" if m >= 11 else (f"{y}NovS1" if m <= 4 else f"{y}NovS2")
    elif ptype == "Yearly":
        iso = str(y)
    elif ptype in FINANCIAL_MONTHS:
        suffix, month = FINANCIAL_MONTHS[ptype]
        if ptype == "FinancialNov":
            iso = f"{y + 1 if m >= 11 else y}{suffix}"
        else:
            iso = f"{y if m >= month else y - 1}{suffix}"
    else:
        raise ValueError(f"Unknown period type {ptype!r}")
    period = parse_period(iso)
    assert period is not None
    return period


def previous_period(period: Period, count: int = 1) -> Period:
    for _ in range(count):
        period = period_for(period.period_type, period.start - timedelta(days=1))
    return period


def next_period(period: Period, count: int = 1) -> Period:
    for _ in range(count):
        period = period_for(period.period_type, period.end + timedelta(days=1))
    return period


def recent_periods(ptype: str, today: date, count: int) -> list[Period]:
    """The ``count`` most recent *finished* periods before the one containing ``today``,
    oldest first."""
    current = period_for(ptype, today)
    out = []
    p = current
    for _ in range(count):
        p = previous_period(p)
        out.append(p)
    return list(reversed(out))
