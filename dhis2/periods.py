"""DHIS2 period identifiers: parse, generate, step and resolve relative periods.

Pure standard library (no Django), so it can be used from forms, jobs, the simulator and tests.

Sources (dhis2/dhis2-core, ``dhis-2/dhis-api/src/main/java/org/hisp/dhis/``):

* ``period/*PeriodType.java`` - ``getIsoDate`` (how an id is written) and ``createPeriod`` (which
  period holds a date); ``period/PeriodTypeEnum.java`` - the type names used in
  ``dataSet.periodType``.
* ``calendar/DateUnitType.java`` and ``calendar/DateUnitPeriodTypeParser.java`` - the id regexes
  and how an id becomes a start/end date (this is where ``2024-01-31`` and ``2024-01`` come from).
* ``period/RelativePeriodEnum.java`` and ``period/RelativePeriods.java`` - relative periods.
* Examples from ``AdxPeriodTest`` as collected in the project's DHIS2 Web API reference, section 11
  "Period identifiers".

Rules in short (all dates are ISO/Gregorian; DHIS2's other calendars are not handled):

* Weeks use ``WeekFields.of(<start day>, 4)``: week 1 is the first week, starting on the type's
  start day, with at least four days in the new year (equivalently: the week holding 4 January).
  The year in the id is that week-based year and week numbers are not zero-padded (``2024W5``).
  A year has 52 or 53 weeks *of that type*: ``2020W53`` exists, ``2014W53`` does not, while
  ``2014SunW53`` does (Sunday weeks).
* ``BiWeekly`` ``yyyyBiWn`` covers ISO weeks ``2n-1`` and ``2n``. In a 53-week year ``BiW27``
  starts on the Monday of ISO week 53 and, like every bi-week, lasts 14 days, so it overlaps the
  next year's ``BiW1`` by one week (``2020BiW27`` = 2020-12-28..2021-01-10, ``2021BiW1`` =
  2021-01-04..2021-01-17). This is what DHIS2's parser and the Android SDK produce. A date in that
  shared week belongs to the next year's ``BiW1`` (``period_containing``), as in
  ``BiWeeklyAbstractPeriodType.createPeriod``.
* ``SixMonthlyNov``, ``QuarterlyNov`` and ``FinancialNov`` ids carry the year in which the
  November-based year *ends*: ``2025NovS1`` = 2024-11-01..2025-04-30, ``2025NovQ1`` =
  2024-11-01..2025-01-31, ``2025Nov`` = 2024-11-01..2025-10-31. All other financial and
  six-monthly April ids carry the start year (``2024April`` = 2024-04-01..2025-03-31).
* ``BiMonthly`` ``yyyyNNB`` numbers the bi-month, not the month: ``202402B`` = March-April.
* ``TwoYearly`` exists as a type name but has no id format (its ``getIsoDate`` returns null), so
  it is not supported here: you cannot send data for it.

Supported types (``PERIOD_TYPES``, with ``min_version``): Daily, Weekly, WeeklyWednesday,
WeeklyThursday, WeeklySaturday, WeeklySunday, BiWeekly, Monthly, BiMonthly, Quarterly,
SixMonthly, SixMonthlyApril, SixMonthlyNov, Yearly, FinancialApril, FinancialJuly, FinancialOct,
FinancialNov (2.36+); QuarterlyNov (2.41+); FinancialSep (2.42+); WeeklyFriday, FinancialFeb,
FinancialAug (2.43+). Check ``min_version`` before sending a type to a server.

Ids use four-digit years; this module supports the years 1000 to 9998.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache, total_ordering
from typing import Final, Literal

__all__ = [
    "DEFAULT_FINANCIAL_YEAR_START",
    "MAX_N",
    "MAX_YEAR",
    "MIN_YEAR",
    "PERIOD_TYPES",
    "RELATIVE_CHOICES",
    "Period",
    "PeriodError",
    "PeriodType",
    "SpanRule",
    "get_period_type",
    "next_period",
    "parse_period",
    "period_containing",
    "period_type_of",
    "period_types_for_version",
    "periods_between",
    "previous_period",
    "relative_choice_needs_n",
    "relative_periods",
    "validate_relative",
]

MIN_YEAR: Final = 1000
MAX_YEAR: Final = 9998
_ONE_DAY: Final = timedelta(days=1)

#: How :func:`periods_between` picks periods: ``overlap`` - every period sharing at least one day
#: with the range; ``start`` - periods whose first day lies in the range (each period belongs to
#: exactly one of a series of adjacent ranges); ``within`` - periods lying entirely in the range.
SpanRule = Literal["overlap", "start", "within"]

#: DHIS2's system setting ``analyticsFinancialYearStart`` defaults to October
#: (``SettingKey.ANALYTICS_FINANCIAL_YEAR_START``); used for THIS_FINANCIAL_YEAR & co. when the
#: data set's own period type does not say which financial year it follows.
DEFAULT_FINANCIAL_YEAR_START: Final = "FinancialOct"


class PeriodError(ValueError):
    """An id, period type, range or relative choice that cannot be used. Message is user-facing."""


class _OutOfRange(PeriodError):
    """A date or year outside the supported years."""


@total_ordering
@dataclass(frozen=True)
class Period:
    """One DHIS2 period: canonical ``id``, ``period_type`` name, ``start`` and ``end`` (inclusive).

    Periods sort by start date (then end date, type and id, so the order is total).
    """

    id: str
    period_type: str
    start: date
    end: date

    def _key(self) -> tuple[date, date, str, str]:
        return (self.start, self.end, self.period_type, self.id)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Period):
            return NotImplemented
        return self._key() < other._key()

    @property
    def days(self) -> int:
        """Number of days in the period (both ends included)."""
        return (self.end - self.start).days + 1

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

_GENERIC_EXAMPLES: Final = (
    "20240131 (day), 2024W5 (week), 2024BiW3 (bi-week), 202401 (month), 202402B (bi-month), "
    "2024Q1 (quarter), 2024S1 (six months), 2024 (year), 2024April (financial year)"
)


def _invalid(text: str, reason: str, examples: str = _GENERIC_EXAMPLES) -> PeriodError:
    return PeriodError(
        f"'{text}' is not a valid DHIS2 period: {reason}. Valid periods look like {examples}."
    )


def _out_of_range() -> PeriodError:
    return _OutOfRange(f"Periods are only supported for the years {MIN_YEAR} to {MAX_YEAR}.")


def _shift(day: date, days: int) -> date:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise _out_of_range() from None


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _out_of_range()


@lru_cache(maxsize=4096)
def _week1_start(year: int, weekday: int) -> date:
    """First day of week 1 of ``year`` for weeks starting on ``weekday`` (Monday = 0).

    ``WeekFields.of(day, 4)``: week 1 is the week with at least 4 days in the year, i.e. the one
    holding 4 January.
    """
    jan4 = date(year, 1, 4)
    return jan4 - timedelta(days=(jan4.weekday() - weekday) % 7)


def _weeks_in_year(year: int, weekday: int) -> int:
    return (_week1_start(year + 1, weekday) - _week1_start(year, weekday)).days // 7


# --------------------------------------------------------------------------------------------
# Period types: one small class per family, instances in a table
# --------------------------------------------------------------------------------------------


class PeriodType:
    """A DHIS2 period type as named in ``dataSet.periodType``.

    ``min_version`` is the lowest DHIS2 2.x minor release that accepts the type (36 means 2.36;
    36 is this project's floor, older releases are not considered). ``frequency`` is DHIS2's
    ``getFrequencyOrder()``, the nominal length in days, used to compare granularity.
    """

    __slots__ = ("example", "frequency", "iso_format", "min_version", "name", "patterns")

    def __init__(
        self,
        name: str,
        *,
        iso_format: str,
        example: str,
        frequency: int,
        patterns: tuple[str, ...],
        min_version: int = 36,
    ) -> None:
        self.name = name
        self.iso_format = iso_format
        self.example = example
        self.frequency = frequency
        self.min_version = min_version
        self.patterns = tuple(re.compile(p) for p in patterns)

    def __repr__(self) -> str:
        return f"<PeriodType {self.name}>"

    def containing(self, day: date) -> Period:
        """The period of this type that holds ``day``."""
        raise NotImplementedError

    def from_match(self, text: str, match: re.Match[str]) -> Period:
        """Build the period for an id that matched one of ``patterns`` (may still be invalid)."""
        raise NotImplementedError

    def next(self, period: Period) -> Period:
        return self.containing(_shift(period.end, 1))

    def previous(self, period: Period) -> Period:
        return self.containing(_shift(period.start, -1))

    def _invalid(self, text: str, reason: str) -> PeriodError:
        return _invalid(text, reason, f"{self.example} ({self.name}, format {self.iso_format})")


class _Daily(PeriodType):
    """``yyyyMMdd``; DHIS2's parser also takes ``yyyy-MM-dd`` (``DateUnitType.DAILY``)."""

    def containing(self, day: date) -> Period:
        _check_year(day.year)
        return Period(f"{day.year:04d}{day.month:02d}{day.day:02d}", self.name, day, day)

    def from_match(self, text: str, match: re.Match[str]) -> Period:
        year, month, dom = int(match["y"]), int(match["m"]), int(match["d"])
        _check_year(year)
        try:
            day = date(year, month, dom)
        except ValueError:
            raise self._invalid(
                text, f"{year:04d}-{match['m']}-{match['d']} is not a date"
            ) from None
        return self.containing(day)


class _Weekly(PeriodType):
    """``yyyy<infix>n`` for weeks starting on ``weekday`` (``WeeklyAbstractPeriodType``)."""

    __slots__ = ("infix", "weekday")

    def __init__(self, name: str, weekday: int, infix: str, *, min_version: int = 36) -> None:
        super().__init__(
            name,
            iso_format=f"yyyy{infix}n",
            example=f"2024{infix}5",
            frequency=7,
            patterns=(rf"(?P<y>[0-9]{{4}}){infix}(?P<n>[0-9]{{1,2}})",),
            min_version=min_version,
        )
        self.weekday = weekday
        self.infix = infix

    def _period(self, year: int, week: int) -> Period:
        start = _week1_start(year, self.weekday) + timedelta(weeks=week - 1)
        return Period(f"{year}{self.infix}{week}", self.name, start, start + timedelta(days=6))

    def containing(self, day: date) -> Period:
        start = _shift(day, -((day.weekday() - self.weekday) % 7))
        year = _shift(start, 3).year  # the year holding at least 4 of the week's days
        _check_year(year)
        week = (start - _week1_start(year, self.weekday)).days // 7 + 1
        return self._period(year, week)

    def from_match(self, text: str, match: re.Match[str]) -> Period:
        year, week = int(match["y"]), int(match["n"])
        _check_year(year)
        weeks = _weeks_in_year(year, self.weekday)
        if not 1 <= week <= weeks:
            reason = f"week {week} does not exist, {year} has weeks 1 to {weeks} for {self.name}"
            raise self._invalid(text, reason)
        return self._period(year, week)


class _BiWeekly(PeriodType):
    """``yyyyBiWn``: ISO weeks 2n-1 and 2n (``BiWeeklyAbstractPeriodType``, parser: week 2n-1)."""

    def _period(self, year: int, number: int) -> Period:
        start = _week1_start(year, 0) + timedelta(weeks=2 * (number - 1))
        return Period(f"{year}BiW{number}", self.name, start, start + timedelta(days=13))

    def containing(self, day: date) -> Period:
        year, week, _ = day.isocalendar()
        _check_year(year)
        return self._period(year, (week + 1) // 2)

    def from_match(self, text: str, match: re.Match[str]) -> Period:
        year, number = int(match["y"]), int(match["n"])
        _check_year(year)
        last = (_weeks_in_year(year, 0) + 1) // 2
        if not 1 <= number <= last:
            reason = f"bi-week {number} does not exist, {year} has bi-weeks 1 to {last}"
            raise self._invalid(text, reason)
        return self._period(year, number)


class _MonthSpan(PeriodType):
    """Periods of ``months`` whole months, counted in a year that starts in ``anchor`` month.

    Covers Monthly, BiMonthly, Quarterly(Nov), SixMonthly(April/Nov), Yearly and Financial*.
    The id year is the start year of that anchored year plus ``year_offset`` (1 for the November
    types, whose ids carry the end year). ``id_format`` gets ``y`` (id year) and ``i`` (1-based
    index of the period in its anchored year).
    """

    __slots__ = ("anchor", "id_format", "months", "year_offset")

    def __init__(
        self,
        name: str,
        *,
        months: int,
        anchor: int,
        id_format: str,
        iso_format: str,
        example: str,
        frequency: int,
        patterns: tuple[str, ...],
        year_offset: int = 0,
        min_version: int = 36,
    ) -> None:
        super().__init__(
            name,
            iso_format=iso_format,
            example=example,
            frequency=frequency,
            patterns=patterns,
            min_version=min_version,
        )
        self.months = months
        self.anchor = anchor
        self.id_format = id_format
        self.year_offset = year_offset

    @property
    def per_year(self) -> int:
        return 12 // self.months

    def _period(self, year: int, index: int) -> Period:
        first = (year - self.year_offset) * 12 + (self.anchor - 1) + (index - 1) * self.months
        after = first + self.months
        start = date(first // 12, first % 12 + 1, 1)
        end = date(after // 12, after % 12 + 1, 1) - _ONE_DAY
        return Period(self.id_format.format(y=year, i=index), self.name, start, end)

    def containing(self, day: date) -> Period:
        anchored_year, month_in_year = divmod(day.year * 12 + day.month - self.anchor, 12)
        year = anchored_year + self.year_offset
        _check_year(year)
        return self._period(year, month_in_year // self.months + 1)

    def from_match(self, text: str, match: re.Match[str]) -> Period:
        year = int(match["y"])
        _check_year(year)
        index = int(match["n"]) if "n" in match.re.groupindex else 1
        if not 1 <= index <= self.per_year:
            noun = {1: "month", 2: "bi-month", 3: "quarter", 6: "half-year"}[self.months]
            allowed = "1 or 2" if self.per_year == 2 else f"1 to {self.per_year}"
            raise self._invalid(text, f"the {noun} number must be {allowed}")
        return self._period(year, index)


_Y = "(?P<y>[0-9]{4})"


#: DHIS2's ``getFrequencyOrder()`` of the quarter, half-year and year types.
_FREQUENCY_OF_MONTHS: Final = {3: 91, 6: 182, 12: 365}


def _labelled(
    name: str,
    months: int,
    anchor: int,
    label: str,
    *,
    year_offset: int = 0,
    since: int = 36,
    example_year: int = 2024,
) -> _MonthSpan:
    """Quarters and half-years, ``yyyy<label>n`` (``2024Q1``, ``2024AprilS2``), and whole years,
    ``yyyy<label>`` (``2024``, ``2024April``): the types whose id is the year, a fixed label and,
    below a year, a one-digit index."""
    if months == 12:
        id_index, iso_index, example_index, pattern_index = "", "", "", ""
    else:
        id_index, iso_index, example_index, pattern_index = "{i}", "n", "1", "(?P<n>[0-9])"
    return _MonthSpan(
        name,
        months=months,
        anchor=anchor,
        id_format="{y}" + label + id_index,
        iso_format=f"yyyy{label}{iso_index}",
        example=f"{example_year}{label}{example_index}",
        frequency=_FREQUENCY_OF_MONTHS[months],
        patterns=(_Y + label + pattern_index,),
        year_offset=year_offset,
        min_version=since,
    )


_TYPES: Final[tuple[PeriodType, ...]] = (
    _Daily(
        "Daily",
        iso_format="yyyyMMdd",
        example="20240131",
        frequency=1,
        patterns=(
            _Y + "(?P<m>[0-9]{2})(?P<d>[0-9]{2})",
            _Y + "-(?P<m>[0-9]{2})-(?P<d>[0-9]{2})",
        ),
    ),
    _Weekly("Weekly", 0, "W"),
    _Weekly("WeeklyWednesday", 2, "WedW"),
    _Weekly("WeeklyThursday", 3, "ThuW"),
    _Weekly("WeeklyFriday", 4, "FriW", min_version=43),
    _Weekly("WeeklySaturday", 5, "SatW"),
    _Weekly("WeeklySunday", 6, "SunW"),
    _BiWeekly(
        "BiWeekly",
        iso_format="yyyyBiWn",
        example="2024BiW3",
        frequency=14,
        patterns=(_Y + "BiW(?P<n>[0-9]{1,2})",),
    ),
    _MonthSpan(
        "Monthly",
        months=1,
        anchor=1,
        id_format="{y}{i:02d}",
        iso_format="yyyyMM",
        example="202401",
        frequency=30,
        patterns=(_Y + "-?(?P<n>[0-9]{2})",),
    ),
    _MonthSpan(
        "BiMonthly",
        months=2,
        anchor=1,
        id_format="{y}{i:02d}B",
        iso_format="yyyyNNB",
        example="202402B",
        frequency=61,
        patterns=(_Y + "(?P<n>[0-9]{2})B",),
    ),
    _labelled("Quarterly", 3, 1, "Q"),
    _labelled("QuarterlyNov", 3, 11, "NovQ", year_offset=1, since=41, example_year=2025),
    _labelled("SixMonthly", 6, 1, "S"),
    _labelled("SixMonthlyApril", 6, 4, "AprilS"),
    _labelled("SixMonthlyNov", 6, 11, "NovS", year_offset=1),
    _labelled("Yearly", 12, 1, ""),
    _labelled("FinancialFeb", 12, 2, "Feb", since=43),
    _labelled("FinancialApril", 12, 4, "April"),
    _labelled("FinancialJuly", 12, 7, "July"),
    _labelled("FinancialAug", 12, 8, "Aug", since=43),
    _labelled("FinancialSep", 12, 9, "Sep", since=42),
    _labelled("FinancialOct", 12, 10, "Oct"),
    _labelled("FinancialNov", 12, 11, "Nov", year_offset=1),
)

#: Every supported period type by its DHIS2 name.
PERIOD_TYPES: Final[dict[str, PeriodType]] = {t.name: t for t in _TYPES}

_FINANCIAL_OF: Final = {
    "QuarterlyNov": "FinancialNov",
    "SixMonthlyNov": "FinancialNov",
    "SixMonthlyApril": "FinancialApril",
}


def get_period_type(name: str) -> PeriodType:
    """The :class:`PeriodType` named ``name`` (exact DHIS2 spelling), else :class:`PeriodError`."""
    try:
        return PERIOD_TYPES[name]
    except (KeyError, TypeError):
        pass
    if name == "TwoYearly":
        raise PeriodError("TwoYearly has no period id format in DHIS2, so it cannot be used here.")
    raise PeriodError(
        f"Unknown period type '{name}'. Known types: {', '.join(PERIOD_TYPES)}."
    ) from None


def period_types_for_version(version: int) -> list[str]:
    """Names of the period types a DHIS2 2.``version`` server accepts (e.g. ``40`` for 2.40)."""
    return [t.name for t in _TYPES if t.min_version <= version]


# --------------------------------------------------------------------------------------------
# Fixed periods
# --------------------------------------------------------------------------------------------


def parse_period(period_id: str) -> Period:
    """Parse a DHIS2 ISO period id into a :class:`Period` with its canonical id.

    Accepts what DHIS2's parser accepts (``DateUnitType`` regexes), including ``2024-01-31``,
    ``2024-01`` and zero-padded week numbers (``2024W05``), and normalises them
    (``20240131``, ``202401``, ``2024W5``). Surrounding whitespace is ignored; letters are
    case-sensitive as in DHIS2. Numbers are checked: no week 0, no week 53 in a 52-week year,
    no ``BiW27`` in a 52-week year, no month 13, bi-month 7, quarter 5, ``S3``...

    Raises :class:`PeriodError` (a ``ValueError``) with a message naming the id and showing
    examples of valid ids.
    """
    if not isinstance(period_id, str):
        raise PeriodError(f"A period must be text such as 202401, not {type(period_id).__name__}.")
    text = period_id.strip()
    if not text:
        raise PeriodError(f"The period is empty. Valid periods look like {_GENERIC_EXAMPLES}.")
    for period_type in _TYPES:
        for pattern in period_type.patterns:
            match = pattern.fullmatch(text)
            if match:
                try:
                    return period_type.from_match(text, match)
                except _OutOfRange:
                    reason = f"only the years {MIN_YEAR} to {MAX_YEAR} are supported"
                    raise _invalid(text, reason) from None
    raise _invalid(text, "the format is not one DHIS2 uses")


def period_type_of(period_id: str) -> str:
    """The period type name of a (valid) period id, e.g. ``2024NovQ1`` -> ``QuarterlyNov``."""
    return parse_period(period_id).period_type


def period_containing(period_type: str, day: date) -> Period:
    """The period of ``period_type`` that holds ``day``.

    For BiWeekly, a day in the week shared by ``BiW27`` and the next year's ``BiW1`` gives
    ``BiW1`` (DHIS2's ``createPeriod``).
    """
    return get_period_type(period_type).containing(day)


def next_period(period: Period) -> Period:
    """The period of the same type that follows ``period`` (``2020BiW27`` -> ``2021BiW1``)."""
    return get_period_type(period.period_type).next(period)


def previous_period(period: Period) -> Period:
    """The period of the same type before ``period`` (``2021BiW1`` -> ``2020BiW27``)."""
    return get_period_type(period.period_type).previous(period)


def periods_between(
    period_type: str, start: date, end: date, *, rule: SpanRule = "overlap"
) -> list[Period]:
    """Periods of ``period_type`` for the date range ``start``..``end`` (both included), by start.

    ``rule`` (default ``overlap``):

    * ``overlap`` - every period sharing at least one day with the range, so the periods cover
      the whole range (the first and last may stick out of it);
    * ``start`` - periods whose first day lies in the range; adjacent ranges never share a period;
    * ``within`` - periods lying entirely inside the range.

    Raises :class:`PeriodError` if ``start`` is after ``end`` or the rule is unknown.
    """
    kind = get_period_type(period_type)
    if start > end:
        raise PeriodError(f"The start date {start} is after the end date {end}.")
    current = kind.containing(start)
    if rule == "overlap":
        before = kind.previous(current)
        while before.end >= start:  # only BiW27, which overlaps the next BiW1
            current, before = before, kind.previous(before)
    elif rule in ("start", "within"):
        if current.start < start:
            current = kind.next(current)
    else:
        raise PeriodError(f"Unknown rule '{rule}': use overlap, start or within.")
    periods: list[Period] = []
    while current.start <= end:
        if rule == "within" and current.end > end:
            break
        periods.append(current)
        current = kind.next(current)
    return periods


# --------------------------------------------------------------------------------------------
# Relative periods
# --------------------------------------------------------------------------------------------

MAX_N: Final = 10_000

_GENERIC: Final = (
    ("THIS", "This period (the one containing today)"),
    ("LAST", "Last period"),
    ("LAST_N", "Last N periods"),
    ("THIS_AND_LAST_N", "This period and the N before it"),
)
_NEEDS_N: Final = frozenset({"LAST_N", "THIS_AND_LAST_N"})

_FINANCIAL: Final = "financial"
_Kind = Literal["this", "last", "year", "last_year"]


@dataclass(frozen=True)
class _Named:
    """A DHIS2 ``RelativePeriodEnum`` value: ``count`` periods of ``unit`` of a ``kind``.

    ``this`` = the unit period holding today; ``last`` = the ``count`` unit periods before it
    (DHIS2 rolls back from the previous period, ``RelativePeriods.getRelativePeriods``);
    ``year``/``last_year`` = all unit periods of this/last calendar year (for weeks: of the ISO
    week-based year, ``WeeklyAbstractPeriodType.generatePeriods``).
    """

    label: str
    unit: str
    kind: _Kind
    count: int = 1


def _named_table() -> dict[str, _Named]:
    table: dict[str, _Named] = {
        "TODAY": _Named("Today", "Daily", "this"),
        "YESTERDAY": _Named("Yesterday", "Daily", "last"),
    }
    for days in (3, 7, 14, 30, 60, 90, 180):
        table[f"LAST_{days}_DAYS"] = _Named(f"Last {days} days", "Daily", "last", days)
    families = (
        # enum word, label singular, label plural, unit, rolling counts, year lists
        ("WEEK", "week", "weeks", "Weekly", (4, 12, 52), ("WEEKS_THIS_YEAR",)),
        ("BIWEEK", "bi-week", "bi-weeks", "BiWeekly", (4,), ()),
        (
            "MONTH",
            "month",
            "months",
            "Monthly",
            (3, 6, 12),
            ("MONTHS_THIS_YEAR", "MONTHS_LAST_YEAR"),
        ),
        ("BIMONTH", "bi-month", "bi-months", "BiMonthly", (6,), ("BIMONTHS_THIS_YEAR",)),
        (
            "QUARTER",
            "quarter",
            "quarters",
            "Quarterly",
            (4,),
            ("QUARTERS_THIS_YEAR", "QUARTERS_LAST_YEAR"),
        ),
        ("SIX_MONTH", "six-month period", "six-month periods", "SixMonthly", (2,), ()),
        ("YEAR", "year", "years", "Yearly", (5, 10), ()),
        ("FINANCIAL_YEAR", "financial year", "financial years", _FINANCIAL, (5, 10), ()),
    )
    for word, one, many, unit, counts, year_lists in families:
        table[f"THIS_{word}"] = _Named(f"This {one}", unit, "this")
        table[f"LAST_{word}"] = _Named(f"Last {one}", unit, "last")
        for count in counts:
            plural_word = {"SIX_MONTH": "SIXMONTHS", "BIWEEK": "BIWEEKS", "BIMONTH": "BIMONTHS"}
            enum_word = plural_word.get(word, word + "S")
            table[f"LAST_{count}_{enum_word}"] = _Named(f"Last {count} {many}", unit, "last", count)
        for value in year_lists:
            last = value.endswith("LAST_YEAR")
            label = f"{many.capitalize()} {'last' if last else 'this'} year"
            table[value] = _Named(label, unit, "last_year" if last else "year")
    return table


_NAMED: Final[dict[str, _Named]] = _named_table()

#: ``(value, label)`` pairs for a form's choices: the generic ones, then DHIS2's named ones.
RELATIVE_CHOICES: Final[list[tuple[str, str]]] = [
    *_GENERIC,
    *((value, named.label) for value, named in _NAMED.items()),
]


def relative_choice_needs_n(choice: str) -> bool:
    """Whether ``choice`` (``LAST_N``, ``THIS_AND_LAST_N``) needs a number of periods ``n``."""
    return isinstance(choice, str) and choice.strip().upper() in _NEEDS_N


def validate_relative(choice: str, n: int | None = None) -> str:
    """Check a relative choice (and its ``n``) and return it normalised (upper case, stripped).

    ``n`` must be given, 1 to 10000, exactly for ``LAST_N`` and ``THIS_AND_LAST_N``, and left
    out for all other choices. Raises :class:`PeriodError` with a user-facing message.
    """
    value = choice.strip().upper() if isinstance(choice, str) else ""
    if value not in _NEEDS_N and value not in _NAMED and value not in ("THIS", "LAST"):
        shown = ", ".join(v for v, _ in RELATIVE_CHOICES)
        raise PeriodError(f"Unknown relative period '{choice}'. Choose one of: {shown}.")
    if value in _NEEDS_N:
        if n is None:
            raise PeriodError(f"{value} needs the number of periods N.")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_N:
            raise PeriodError(f"The number of periods N must be a whole number from 1 to {MAX_N}.")
    elif n is not None:
        raise PeriodError(f"{value} does not take a number of periods (got N={n}).")
    return value


def _last_n(kind: PeriodType, current: Period, count: int) -> list[Period]:
    periods: list[Period] = []
    for _ in range(count):
        current = kind.previous(current)
        periods.append(current)
    periods.reverse()
    return periods


def _year_span(unit: PeriodType, year: int) -> tuple[date, date]:
    if isinstance(unit, _Weekly):
        first = _week1_start(year, unit.weekday)
        return first, _week1_start(year + 1, unit.weekday) - _ONE_DAY
    return date(year, 1, 1), date(year, 12, 31)


def relative_periods(
    period_type: str,
    choice: str,
    *,
    today: date,
    n: int | None = None,
    financial_year_start: str | None = None,
) -> list[Period]:
    """Resolve a relative period choice to fixed periods of ``period_type``, oldest first.

    Generic choices work on the data set's own type: ``THIS`` (the period containing ``today``),
    ``LAST`` (the one before), ``LAST_N`` (the ``n`` before the current one) and
    ``THIS_AND_LAST_N`` (those plus the current one).

    Named choices are DHIS2's ``RelativePeriodEnum`` values. Each is first resolved in its own
    unit as DHIS2 does (``LAST_3_MONTHS`` = the 3 months before the current month,
    ``LAST_7_DAYS`` = the 7 days before today, ``MONTHS_THIS_YEAR`` = all 12 months of this
    year, weeks are ISO weeks, ``*_FINANCIAL_YEAR*`` use the financial year below). That gives a
    span, which is mapped onto ``period_type``:

    * same type as the unit: the unit periods themselves;
    * same granularity, other alignment (``THIS_WEEK`` on WeeklySunday, ``LAST_YEAR`` on
      FinancialApril), for ``THIS_*``/``LAST_*``: the generic choice on the data set's type
      (the Sunday week containing today; the financial year before the current one);
    * data set type finer than, or as fine as, the unit (``LAST_3_MONTHS`` on Weekly,
      ``QUARTERS_THIS_YEAR`` on QuarterlyNov): the periods whose **start** lies in the span, so
      adjacent spans (this and last month for ``LAST_MONTH``) never share a period;
    * data set type coarser than the unit (``LAST_WEEK`` or ``LAST_30_DAYS`` on Monthly): the
      periods **overlapping** the span, i.e. the period(s) containing it.

    Granularity is DHIS2's frequency order (days 1, weeks 7, bi-weeks 14, months 30, ...).

    ``financial_year_start`` names the financial period type (e.g. ``FinancialApril``) for the
    ``*_FINANCIAL_YEAR*`` choices. By default it is the data set's own type if that is a
    financial type, FinancialNov for QuarterlyNov/SixMonthlyNov, FinancialApril for
    SixMonthlyApril, otherwise DHIS2's default ``FinancialOct``.

    Raises :class:`PeriodError` for an unknown type or choice or a bad ``n``.
    """
    kind = get_period_type(period_type)
    value = validate_relative(choice, n)
    current = kind.containing(today)
    if value == "THIS":
        return [current]
    if value == "LAST":
        return [kind.previous(current)]
    if value in _NEEDS_N:
        assert n is not None  # checked by validate_relative
        previous = _last_n(kind, current, n)
        return [*previous, current] if value == "THIS_AND_LAST_N" else previous

    named = _NAMED[value]
    if named.unit == _FINANCIAL:
        if financial_year_start is None:
            financial_year_start = (
                period_type
                if period_type.startswith("Financial")
                else _FINANCIAL_OF.get(period_type, DEFAULT_FINANCIAL_YEAR_START)
            )
        unit = get_period_type(financial_year_start)
        if not unit.name.startswith("Financial"):
            raise PeriodError(f"'{financial_year_start}' is not a financial year period type.")
    else:
        unit = PERIOD_TYPES[named.unit]

    rolling = named.kind in ("this", "last")
    if rolling and (unit is kind or unit.frequency == kind.frequency):
        # Same granularity: resolve in the data set's own periods.
        return [current] if named.kind == "this" else _last_n(kind, current, named.count)

    if named.kind == "this":
        span = unit.containing(today)
        first, last = span.start, span.end
    elif named.kind == "last":
        periods = _last_n(unit, unit.containing(today), named.count)
        first, last = periods[0].start, periods[-1].end
    else:
        year = today.year - (1 if named.kind == "last_year" else 0)
        first, last = _year_span(unit, year)

    rule: SpanRule = "overlap" if kind.frequency > unit.frequency else "start"
    return periods_between(period_type, first, last, rule=rule)
