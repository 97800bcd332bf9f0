"""dhis2.periods: ids, dates, stepping and relative periods, checked against DHIS2's own examples.

Expected dates come from the DHIS2 Web API reference section 11 (AdxPeriodTest examples), from
dhis2-core's period type sources, and from the dhis2-android-sdk BiWeeklyPeriodGenerator tests.
Generated periods are checked against independent oracles (Python's ISO calendar, a brute-force
week-1 search, plain month arithmetic), not against the module's own helpers.
"""

from __future__ import annotations

import dataclasses
import random
import re
import subprocess
import sys
from datetime import date, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from dhis2 import periods as P
from dhis2.periods import (
    PERIOD_TYPES,
    RELATIVE_CHOICES,
    Period,
    PeriodError,
    next_period,
    parse_period,
    period_containing,
    period_type_of,
    period_types_for_version,
    periods_between,
    previous_period,
    relative_choice_needs_n,
    relative_periods,
    validate_relative,
)

D = date
DAY = timedelta(days=1)

# Names as DHIS2 writes them in dataSet.periodType (PeriodTypeEnum), with the first release
# accepting them.
BRIEF_TYPES = {
    "Daily": 36,
    "Weekly": 36,
    "WeeklyWednesday": 36,
    "WeeklyThursday": 36,
    "WeeklySaturday": 36,
    "WeeklySunday": 36,
    "BiWeekly": 36,
    "Monthly": 36,
    "BiMonthly": 36,
    "Quarterly": 36,
    "QuarterlyNov": 41,
    "SixMonthly": 36,
    "SixMonthlyApril": 36,
    "SixMonthlyNov": 36,
    "Yearly": 36,
    "FinancialApril": 36,
    "FinancialJuly": 36,
    "FinancialOct": 36,
    "FinancialNov": 36,
    "FinancialSep": 42,
}
LATER_TYPES = {"WeeklyFriday": 43, "FinancialFeb": 43, "FinancialAug": 43}
ALL_TYPES = sorted(PERIOD_TYPES)

WEEKLY = {  # type -> (id infix, start weekday Monday=0)
    "Weekly": ("W", 0),
    "WeeklyWednesday": ("WedW", 2),
    "WeeklyThursday": ("ThuW", 3),
    "WeeklyFriday": ("FriW", 4),
    "WeeklySaturday": ("SatW", 5),
    "WeeklySunday": ("SunW", 6),
}

# id, type, start, end
REFERENCE = [
    # Web API reference section 11 (AdxPeriodTest / PeriodType sources)
    ("20240131", "Daily", D(2024, 1, 31), D(2024, 1, 31)),
    ("2024W1", "Weekly", D(2024, 1, 1), D(2024, 1, 7)),
    ("2022W1", "Weekly", D(2022, 1, 3), D(2022, 1, 9)),
    ("2024WedW1", "WeeklyWednesday", D(2024, 1, 3), D(2024, 1, 9)),
    ("2022WedW1", "WeeklyWednesday", D(2021, 12, 29), D(2022, 1, 4)),
    ("2024ThuW1", "WeeklyThursday", D(2024, 1, 4), D(2024, 1, 10)),
    ("2022ThuW1", "WeeklyThursday", D(2021, 12, 30), D(2022, 1, 5)),
    ("2024SatW2", "WeeklySaturday", D(2024, 1, 6), D(2024, 1, 12)),
    ("2022SatW1", "WeeklySaturday", D(2022, 1, 1), D(2022, 1, 7)),
    ("2024SunW2", "WeeklySunday", D(2024, 1, 7), D(2024, 1, 13)),
    ("2022SunW1", "WeeklySunday", D(2022, 1, 2), D(2022, 1, 8)),
    ("2024BiW1", "BiWeekly", D(2024, 1, 1), D(2024, 1, 14)),
    ("2022BiW2", "BiWeekly", D(2022, 1, 17), D(2022, 1, 30)),
    ("202401", "Monthly", D(2024, 1, 1), D(2024, 1, 31)),
    ("202401B", "BiMonthly", D(2024, 1, 1), D(2024, 2, 29)),
    ("202402B", "BiMonthly", D(2024, 3, 1), D(2024, 4, 30)),
    ("2024Q1", "Quarterly", D(2024, 1, 1), D(2024, 3, 31)),
    ("2024S1", "SixMonthly", D(2024, 1, 1), D(2024, 6, 30)),
    ("2024AprilS1", "SixMonthlyApril", D(2024, 4, 1), D(2024, 9, 30)),
    ("2024AprilS2", "SixMonthlyApril", D(2024, 10, 1), D(2025, 3, 31)),
    ("2025NovS1", "SixMonthlyNov", D(2024, 11, 1), D(2025, 4, 30)),
    ("2025NovS2", "SixMonthlyNov", D(2025, 5, 1), D(2025, 10, 31)),
    ("2024", "Yearly", D(2024, 1, 1), D(2024, 12, 31)),
    ("2024April", "FinancialApril", D(2024, 4, 1), D(2025, 3, 31)),
    ("2024July", "FinancialJuly", D(2024, 7, 1), D(2025, 6, 30)),
    ("2024Oct", "FinancialOct", D(2024, 10, 1), D(2025, 9, 30)),
    ("2025Nov", "FinancialNov", D(2024, 11, 1), D(2025, 10, 31)),
    # dhis2-core QuarterlyNovemberPeriodType / DateUnitPeriodTypeParser (Q1 starts in November
    # of the year before), FinancialSeptemberPeriodType, FinancialFebruary/AugustPeriodType,
    # WeeklyFridayPeriodType
    ("2025NovQ1", "QuarterlyNov", D(2024, 11, 1), D(2025, 1, 31)),
    ("2024NovQ1", "QuarterlyNov", D(2023, 11, 1), D(2024, 1, 31)),
    ("2024NovQ2", "QuarterlyNov", D(2024, 2, 1), D(2024, 4, 30)),
    ("2024NovQ4", "QuarterlyNov", D(2024, 8, 1), D(2024, 10, 31)),
    ("2024Sep", "FinancialSep", D(2024, 9, 1), D(2025, 8, 31)),
    ("2024Feb", "FinancialFeb", D(2024, 2, 1), D(2025, 1, 31)),
    ("2024Aug", "FinancialAug", D(2024, 8, 1), D(2025, 7, 31)),
    ("2024FriW1", "WeeklyFriday", D(2023, 12, 29), D(2024, 1, 4)),
    # dhis2-android-sdk BiWeeklyPeriodGeneratorShould
    ("2018BiW5", "BiWeekly", D(2018, 2, 26), D(2018, 3, 11)),
    ("2017BiW19", "BiWeekly", D(2017, 9, 11), D(2017, 9, 24)),
    ("2027BiW1", "BiWeekly", D(2027, 1, 4), D(2027, 1, 17)),
    ("2020BiW27", "BiWeekly", D(2020, 12, 28), D(2021, 1, 10)),
    ("2021BiW1", "BiWeekly", D(2021, 1, 4), D(2021, 1, 17)),
    # week-year boundaries (ISO 8601 for Weekly; WeekFields.of(day, 4) for the others)
    ("2020W53", "Weekly", D(2020, 12, 28), D(2021, 1, 3)),
    ("2021W1", "Weekly", D(2021, 1, 4), D(2021, 1, 10)),
    ("2015W53", "Weekly", D(2015, 12, 28), D(2016, 1, 3)),
    ("2009W53", "Weekly", D(2009, 12, 28), D(2010, 1, 3)),
    ("2014SunW53", "WeeklySunday", D(2014, 12, 28), D(2015, 1, 3)),
    ("2025SunW53", "WeeklySunday", D(2025, 12, 28), D(2026, 1, 3)),
    ("2024SatW53", "WeeklySaturday", D(2024, 12, 28), D(2025, 1, 3)),
    ("20240229", "Daily", D(2024, 2, 29), D(2024, 2, 29)),
]


@pytest.mark.parametrize(("period_id", "period_type", "start", "end"), REFERENCE)
def test_reference_examples(period_id: str, period_type: str, start: date, end: date) -> None:
    period = parse_period(period_id)
    assert period == Period(period_id, period_type, start, end)
    assert period_type_of(period_id) == period_type
    assert period_containing(period_type, start) == period
    assert period_containing(period_type, start + (end - start) // 2) == period


@pytest.mark.parametrize(
    ("period_id", "days"),
    [
        ("20240131", 1),
        ("2024W1", 7),
        ("2024BiW1", 14),
        ("2020BiW27", 14),
        ("202402", 29),
        ("202302", 28),
        ("202401B", 60),
        ("2024Q1", 91),
        ("2024S2", 184),
        ("2024", 366),
        ("2023", 365),
        ("2024April", 365),
        ("2024Feb", 366),
        ("2025Nov", 365),
    ],
)
def test_duration_in_days(period_id: str, days: int) -> None:
    assert parse_period(period_id).days == days


# --------------------------------------------------------------------------------------------
# Types and versions
# --------------------------------------------------------------------------------------------


def test_every_type_from_the_brief_is_known_with_its_min_version() -> None:
    for name, version in {**BRIEF_TYPES, **LATER_TYPES}.items():
        assert PERIOD_TYPES[name].min_version == version, name
        assert PERIOD_TYPES[name].name == name
    assert set(PERIOD_TYPES) == set(BRIEF_TYPES) | set(LATER_TYPES)


@pytest.mark.parametrize(
    ("version", "included", "excluded"),
    [
        (36, {"BiWeekly", "SixMonthlyNov", "FinancialNov"}, {"QuarterlyNov", "FinancialSep"}),
        (40, {"WeeklySunday", "FinancialOct"}, {"QuarterlyNov", "FinancialSep", "WeeklyFriday"}),
        (41, {"QuarterlyNov"}, {"FinancialSep", "FinancialFeb"}),
        (42, {"QuarterlyNov", "FinancialSep"}, {"WeeklyFriday", "FinancialAug"}),
        (43, {"WeeklyFriday", "FinancialFeb", "FinancialAug", "FinancialSep"}, set()),
    ],
)
def test_period_types_for_version(version: int, included: set, excluded: set) -> None:
    names = set(period_types_for_version(version))
    assert included <= names
    assert not excluded & names


def test_types_for_old_version_are_the_old_ones() -> None:
    expected = {name for name, version in BRIEF_TYPES.items() if version == 36}
    assert set(period_types_for_version(36)) == expected
    assert period_types_for_version(35) == []


@pytest.mark.parametrize("name", ["TwoYearly", "weekly", "Monthly ", "Decade", "", None])
def test_unknown_period_type(name: object) -> None:
    with pytest.raises(PeriodError) as error:
        period_containing(name, D(2024, 1, 1))  # type: ignore[arg-type]
    if name == "TwoYearly":
        assert "no period id format" in str(error.value)
    else:
        assert "Known types:" in str(error.value)
        assert "Monthly" in str(error.value)


def test_example_of_each_type_parses_to_that_type() -> None:
    for name, kind in PERIOD_TYPES.items():
        assert parse_period(kind.example).period_type == name


# --------------------------------------------------------------------------------------------
# Weeks: year boundaries for every weekly variant, against independent oracles
# --------------------------------------------------------------------------------------------


def brute_week1(year: int, weekday: int) -> date:
    """First week starting on ``weekday`` with at least 4 of its days in ``year`` (brute force)."""
    day = D(year - 1, 12, 20)
    while True:
        if day.weekday() == weekday and sum((day + k * DAY).year == year for k in range(7)) >= 4:
            return day
        day += DAY


YEARS = range(2008, 2032)


@pytest.mark.parametrize("period_type", sorted(WEEKLY))
@pytest.mark.parametrize("year", YEARS)
def test_week_year_boundaries(period_type: str, year: int) -> None:
    infix, weekday = WEEKLY[period_type]
    first = brute_week1(year, weekday)
    weeks = (brute_week1(year + 1, weekday) - first).days // 7
    assert weeks in (52, 53)

    week1 = parse_period(f"{year}{infix}1")
    assert week1.start == first
    assert week1.start.weekday() == weekday
    last = parse_period(f"{year}{infix}{weeks}")
    assert last.end == brute_week1(year + 1, weekday) - DAY
    assert next_period(last) == parse_period(f"{year + 1}{infix}1")
    weeks_before = (first - brute_week1(year - 1, weekday)).days // 7
    assert previous_period(week1).id == f"{year - 1}{infix}{weeks_before}"
    with pytest.raises(PeriodError):
        parse_period(f"{year}{infix}{weeks + 1}")
    with pytest.raises(PeriodError):
        parse_period(f"{year}{infix}0")


@pytest.mark.parametrize(
    ("period_id", "valid"),
    [
        ("2020W53", True),
        ("2015W53", True),
        ("2009W53", True),
        ("2026W53", True),
        ("2014W53", False),
        ("2024W53", False),
        ("2021W53", False),
        ("2024W54", False),
        ("2020W54", False),
        ("2024W0", False),
        ("2024BiW26", True),
        ("2020BiW27", True),
        ("2015BiW27", True),
        ("2026BiW27", True),
        ("2024BiW27", False),
        ("2025BiW27", False),
        ("2020BiW28", False),
        ("2020BiW0", False),
        ("2014SunW53", True),
        ("2026SunW53", False),
        ("2025SatW53", False),
        ("2020WedW53", False),
    ],
)
def test_week_53_only_in_long_years(period_id: str, valid: bool) -> None:
    if valid:
        assert parse_period(period_id).id == period_id
    else:
        with pytest.raises(PeriodError, match=re.escape(period_id)):
            parse_period(period_id)


def test_weekly_matches_python_iso_calendar_every_day() -> None:
    day, checked = D(2015, 1, 1), 0
    while day <= D(2030, 12, 31):
        year, week, _ = day.isocalendar()
        period = period_containing("Weekly", day)
        assert period.id == f"{year}W{week}"
        assert period.start == date.fromisocalendar(year, week, 1)
        checked += 1
        day += DAY
    assert checked == 5844


@pytest.mark.parametrize("period_type", sorted(WEEKLY))
def test_week_id_year_holds_four_days_of_the_week(period_type: str) -> None:
    for period in generated(period_type):
        year = int(period.id[:4])
        assert sum((period.start + k * DAY).year == year for k in range(7)) >= 4, period


def test_biweek_27_overlaps_next_years_first_biweek() -> None:
    last, first = parse_period("2020BiW27"), parse_period("2021BiW1")
    assert last.start == date.fromisocalendar(2020, 53, 1)
    assert first.start == date.fromisocalendar(2021, 1, 1) == last.start + 7 * DAY
    assert next_period(last) == first
    assert previous_period(first) == last
    assert next_period(parse_period("2020BiW26")) == last
    assert previous_period(last) == parse_period("2020BiW26")
    # days of ISO week 53 belong to BiW27, the shared week to the next year's BiW1
    for offset in range(7):
        assert period_containing("BiWeekly", last.start + offset * DAY) == last
        assert period_containing("BiWeekly", first.start + offset * DAY) == first


@pytest.mark.parametrize(
    ("day", "period_id"),
    [
        (D(2019, 12, 23), "2019BiW26"),
        (D(2020, 1, 2), "2020BiW1"),
        (D(2018, 1, 22), "2018BiW2"),
        (D(2018, 1, 7), "2018BiW1"),
        (D(2016, 1, 3), "2015BiW27"),
        (D(2021, 1, 3), "2020BiW27"),
        (D(2021, 1, 5), "2021BiW1"),
    ],
)
def test_biweekly_containing(day: date, period_id: str) -> None:
    assert period_containing("BiWeekly", day).id == period_id


def test_biweeks_are_iso_week_pairs() -> None:
    for period in generated("BiWeekly"):
        year, number = int(period.id[:4]), int(period.id[7:])
        assert period.start == date.fromisocalendar(year, 2 * number - 1, 1)
        assert period.days == 14


# --------------------------------------------------------------------------------------------
# November types carry the end year
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_type", "day", "period_id"),
    [
        ("FinancialNov", D(2024, 11, 1), "2025Nov"),
        ("FinancialNov", D(2025, 10, 31), "2025Nov"),
        ("FinancialNov", D(2024, 10, 31), "2024Nov"),
        ("FinancialNov", D(2025, 1, 1), "2025Nov"),
        ("SixMonthlyNov", D(2024, 11, 1), "2025NovS1"),
        ("SixMonthlyNov", D(2025, 4, 30), "2025NovS1"),
        ("SixMonthlyNov", D(2025, 5, 1), "2025NovS2"),
        ("SixMonthlyNov", D(2024, 10, 31), "2024NovS2"),
        ("QuarterlyNov", D(2024, 11, 15), "2025NovQ1"),
        ("QuarterlyNov", D(2025, 1, 31), "2025NovQ1"),
        ("QuarterlyNov", D(2025, 2, 1), "2025NovQ2"),
        ("QuarterlyNov", D(2024, 10, 31), "2024NovQ4"),
        ("FinancialApril", D(2025, 3, 31), "2024April"),
        ("FinancialApril", D(2025, 4, 1), "2025April"),
        ("SixMonthlyApril", D(2025, 3, 31), "2024AprilS2"),
        ("FinancialOct", D(2024, 9, 30), "2023Oct"),
        ("FinancialSep", D(2024, 9, 1), "2024Sep"),
        ("BiMonthly", D(2024, 12, 31), "202406B"),
        ("Weekly", D(2025, 1, 1), "2025W1"),
        ("Weekly", D(2021, 1, 3), "2020W53"),
        ("WeeklySunday", D(2021, 1, 1), "2020SunW53"),
        ("Daily", D(2024, 2, 29), "20240229"),
    ],
)
def test_period_containing(period_type: str, day: date, period_id: str) -> None:
    period = period_containing(period_type, day)
    assert period.id == period_id
    assert period.start <= day <= period.end
    assert day in period


@pytest.mark.parametrize("period_type", ["FinancialNov", "SixMonthlyNov", "QuarterlyNov"])
def test_november_ids_use_the_end_year_of_their_november_year(period_type: str) -> None:
    for period in generated(period_type):
        november_year_end = period.start.year + (1 if period.start.month >= 11 else 0)
        assert int(period.id[:4]) == november_year_end == period.end.year


# --------------------------------------------------------------------------------------------
# Accepted forms and normalisation
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("2024-01-31", "20240131"),
        ("2024-02-29", "20240229"),
        ("2024-01", "202401"),
        ("2024-12", "202412"),
        ("2024W05", "2024W5"),
        ("2020W05", "2020W5"),
        ("2024BiW03", "2024BiW3"),
        ("2024SunW07", "2024SunW7"),
        ("  2024Q1 ", "2024Q1"),
        ("\t2025Nov\n", "2025Nov"),
        ("202401", "202401"),
    ],
)
def test_accepted_forms_are_normalised(typed: str, canonical: str) -> None:
    period = parse_period(typed)
    assert period.id == canonical
    assert parse_period(canonical) == period


# --------------------------------------------------------------------------------------------
# Invalid input
# --------------------------------------------------------------------------------------------

INVALID = [
    "2014W53",
    "2024W0",
    "2024W54",
    "2024W123",
    "2021BiW27",
    "2024BiW0",
    "202413",
    "202400",
    "2024-13",
    "2024-00",
    "2024-1",
    "202407B",
    "202400B",
    "2024Q0",
    "2024Q5",
    "2024NovQ5",
    "2024NovQ0",
    "2024S0",
    "2024S3",
    "2024AprilS3",
    "2024NovS3",
    "20240230",
    "20230229",
    "2024-02-30",
    "20241301",
    "2024-0131",
    "202401-31",
    "24W1",
    "2024w1",
    "2024q1",
    "2024 W1",
    "2024W",
    "2024Jan",
    "2024Dec",
    "2024Nov1",
    "2024NovS",
    "2024MarchS1",
    "TwoYearly",
    "abc",
    "2024Q1x",
    "x2024Q1",
    "\uff12\uff10\uff12\uff14",  # full-width digits
    "\u0662\u0660\u0662\u0664Q1",  # Arabic-Indic digits
    "0999",
    "9999",
    "",
    "   ",
]


@pytest.mark.parametrize("bad", INVALID)
def test_invalid_ids_raise_helpful_value_error(bad: str) -> None:
    with pytest.raises(
        ValueError, match=r"is not a valid DHIS2 period|The period is empty"
    ) as error:
        parse_period(bad)
    assert isinstance(error.value, PeriodError)
    message = str(error.value)
    if bad.strip():
        assert f"'{bad.strip()}'" in message
    examples = re.search(r"look like (\S+)", message)
    assert examples, message
    assert parse_period(examples.group(1)) is not None  # the example shown is itself valid


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("2014W53", "weeks 1 to 52"),
        ("2024W0", "week 0 does not exist"),
        ("2021BiW27", "bi-weeks 1 to 26"),
        ("202413", "1 to 12"),
        ("202407B", "1 to 6"),
        ("2024Q5", "1 to 4"),
        ("2024S3", "1 or 2"),
        ("20230229", "2023-02-29 is not a date"),
        ("2024Jan", "format is not one DHIS2 uses"),
        ("0999", "1000 to 9998"),
    ],
)
def test_invalid_id_message_explains_why(bad: str, hint: str) -> None:
    with pytest.raises(PeriodError, match=re.escape(hint)):
        parse_period(bad)


@pytest.mark.parametrize("value", [None, 202401, 2024.0, b"202401", ["202401"]])
def test_non_text_period_is_a_value_error(value: object) -> None:
    with pytest.raises(PeriodError, match="must be text"):
        parse_period(value)  # type: ignore[arg-type]


def test_period_error_is_a_value_error() -> None:
    assert issubclass(PeriodError, ValueError)


@pytest.mark.parametrize(
    ("period_type", "day"),
    [
        ("Daily", D(999, 12, 31)),
        ("Weekly", date.min),
        ("WeeklySunday", D(1, 1, 1)),
        ("BiWeekly", D(9999, 12, 31)),
        ("Yearly", D(9999, 1, 1)),
        ("Daily", date.max),
    ],
)
def test_dates_outside_supported_years(period_type: str, day: date) -> None:
    with pytest.raises(PeriodError, match="1000 to 9998"):
        period_containing(period_type, day)


def test_edges_of_supported_years() -> None:
    assert parse_period("9998").end == D(9998, 12, 31)
    assert parse_period("1000").start == D(1000, 1, 1)
    assert parse_period("9998W52").id == "9998W52"
    with pytest.raises(PeriodError):
        next_period(parse_period("9998"))
    with pytest.raises(PeriodError):
        previous_period(parse_period("1000"))


# --------------------------------------------------------------------------------------------
# Generated periods 2015-2030: round trip, contiguity, shape
# --------------------------------------------------------------------------------------------

RANGE = (D(2015, 1, 1), D(2030, 12, 31))


@cache
def generated(period_type: str) -> tuple[Period, ...]:
    return tuple(periods_between(period_type, *RANGE))


MONTH_SPANS = {  # type -> (months per period, start months, id year = start year + offset)
    "Monthly": (1, set(range(1, 13)), 0),
    "BiMonthly": (2, {1, 3, 5, 7, 9, 11}, 0),
    "Quarterly": (3, {1, 4, 7, 10}, 0),
    "QuarterlyNov": (3, {11, 2, 5, 8}, None),
    "SixMonthly": (6, {1, 7}, 0),
    "SixMonthlyApril": (6, {4, 10}, 0),
    "SixMonthlyNov": (6, {11, 5}, None),
    "Yearly": (12, {1}, 0),
    "FinancialFeb": (12, {2}, 0),
    "FinancialApril": (12, {4}, 0),
    "FinancialJuly": (12, {7}, 0),
    "FinancialAug": (12, {8}, 0),
    "FinancialSep": (12, {9}, 0),
    "FinancialOct": (12, {10}, 0),
    "FinancialNov": (12, {11}, 1),
}


@pytest.mark.parametrize("period_type", ALL_TYPES)
def test_round_trip_and_contiguity_2015_2030(period_type: str) -> None:
    periods = generated(period_type)
    assert len(periods) >= 16
    assert periods[0].start <= RANGE[0] <= periods[0].end
    assert periods[-1].start <= RANGE[1] <= periods[-1].end
    assert len({p.id for p in periods}) == len(periods)
    for before, after in pairwise(periods):
        if before.id.endswith("BiW27"):
            # the one DHIS2 overlap: BiW27 shares its second week with the next BiW1
            assert after.start == before.start + 7 * DAY
            assert after.id == f"{int(before.id[:4]) + 1}BiW1"
        else:
            assert after.start == before.end + DAY, (before, after)
        assert next_period(before) == after
        assert previous_period(after) == before
    for period in periods:
        assert period.period_type == period_type
        assert parse_period(period.id) == period
        assert period_containing(period_type, period.start) == period
        assert period.start <= period.end
        if not period.id.endswith("BiW27"):
            assert period_containing(period_type, period.end) == period


def test_round_trip_covers_thousands_of_periods() -> None:
    assert sum(len(generated(name)) for name in ALL_TYPES) > 10_000


@pytest.mark.parametrize(
    ("period_type", "count"),
    [
        ("Daily", 5844),
        ("Monthly", 192),
        ("BiMonthly", 96),
        ("Quarterly", 64),
        ("SixMonthly", 32),
        ("Yearly", 16),
        ("FinancialApril", 17),
        ("FinancialNov", 17),
        ("QuarterlyNov", 65),
        ("SixMonthlyNov", 33),
        ("SixMonthlyApril", 33),
    ],
)
def test_number_of_generated_periods(period_type: str, count: int) -> None:
    assert len(generated(period_type)) == count


def test_weekly_count_matches_iso_calendar() -> None:
    long_years = [y for y in range(2015, 2031) if D(y, 12, 28).isocalendar()[1] == 53]
    assert long_years == [2015, 2020, 2026]
    weeks = [p for p in generated("Weekly") if 2015 <= int(p.id[:4]) <= 2030]
    assert len(weeks) == 16 * 52 + len(long_years)
    biweeks = [p for p in generated("BiWeekly") if 2015 <= int(p.id[:4]) <= 2030]
    assert len(biweeks) == 16 * 26 + len(long_years)
    assert {p.id for p in biweeks if p.id.endswith("BiW27")} == {
        "2015BiW27",
        "2020BiW27",
        "2026BiW27",
    }


@pytest.mark.parametrize("period_type", sorted(MONTH_SPANS))
def test_month_based_periods_have_the_right_shape(period_type: str) -> None:
    months, start_months, offset = MONTH_SPANS[period_type]
    for period in generated(period_type):
        assert period.start.day == 1
        assert period.start.month in start_months
        end_month = period.start.year * 12 + period.start.month - 1 + months
        assert period.end == D(end_month // 12, end_month % 12 + 1, 1) - DAY
        if offset is not None:
            assert int(period.id[:4]) == period.start.year + offset


def test_bimonthly_and_monthly_ids() -> None:
    assert [p.id for p in periods_between("BiMonthly", D(2024, 1, 1), D(2024, 12, 31))] == [
        f"2024{i:02d}B" for i in range(1, 7)
    ]
    assert [p.id for p in periods_between("Monthly", D(2024, 1, 1), D(2024, 12, 31))] == [
        f"2024{m:02d}" for m in range(1, 13)
    ]


def test_daily_ids_match_iso_dates() -> None:
    for period in generated("Daily")[::97]:
        assert period.id == period.start.isoformat().replace("-", "")
        assert period.start == period.end


# --------------------------------------------------------------------------------------------
# periods_between rules
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_type", "start", "end", "rule", "ids"),
    [
        ("Monthly", D(2024, 1, 15), D(2024, 3, 10), "overlap", ["202401", "202402", "202403"]),
        ("Monthly", D(2024, 1, 15), D(2024, 3, 10), "start", ["202402", "202403"]),
        ("Monthly", D(2024, 1, 15), D(2024, 3, 10), "within", ["202402"]),
        ("Monthly", D(2024, 2, 1), D(2024, 2, 29), "within", ["202402"]),
        ("Monthly", D(2024, 2, 2), D(2024, 2, 28), "within", []),
        ("Monthly", D(2024, 2, 2), D(2024, 2, 28), "start", []),
        ("Monthly", D(2024, 2, 2), D(2024, 2, 2), "overlap", ["202402"]),
        ("Daily", D(2024, 2, 28), D(2024, 3, 1), "overlap", ["20240228", "20240229", "20240301"]),
        ("Yearly", D(2023, 12, 31), D(2024, 1, 1), "overlap", ["2023", "2024"]),
        ("Yearly", D(2023, 12, 31), D(2024, 1, 1), "start", ["2024"]),
        ("FinancialNov", D(2024, 1, 1), D(2024, 12, 31), "overlap", ["2024Nov", "2025Nov"]),
        (
            "BiWeekly",
            D(2021, 1, 5),
            D(2021, 1, 20),
            "overlap",
            ["2020BiW27", "2021BiW1", "2021BiW2"],
        ),
        ("BiWeekly", D(2021, 1, 5), D(2021, 1, 20), "start", ["2021BiW2"]),
        ("BiWeekly", D(2020, 12, 28), D(2021, 1, 17), "within", ["2020BiW27", "2021BiW1"]),
    ],
)
def test_periods_between_rules(
    period_type: str, start: date, end: date, rule: P.SpanRule, ids: list[str]
) -> None:
    assert [p.id for p in periods_between(period_type, start, end, rule=rule)] == ids


def test_periods_between_weekly_quarter() -> None:
    overlapping = periods_between("Weekly", D(2025, 4, 1), D(2025, 6, 30))
    assert (overlapping[0].id, overlapping[-1].id) == ("2025W14", "2025W27")
    starting = periods_between("Weekly", D(2025, 4, 1), D(2025, 6, 30), rule="start")
    assert (starting[0].id, starting[-1].id) == ("2025W15", "2025W27")
    inside = periods_between("Weekly", D(2025, 4, 1), D(2025, 6, 30), rule="within")
    assert (inside[0].id, inside[-1].id) == ("2025W15", "2025W26")


def test_periods_between_defaults_to_overlap() -> None:
    assert periods_between("Quarterly", D(2024, 2, 1), D(2024, 4, 1)) == periods_between(
        "Quarterly", D(2024, 2, 1), D(2024, 4, 1), rule="overlap"
    )


@pytest.mark.parametrize("period_type", ALL_TYPES)
def test_periods_between_matches_brute_force_filter(period_type: str) -> None:
    rng = random.Random(f"periods-{period_type}")
    every = generated(period_type)
    for _ in range(40):
        start = D(2016, 1, 1) + timedelta(days=rng.randrange(0, 4800))
        end = start + timedelta(days=rng.choice([0, 1, 6, 13, 30, 45, 100, 400, 800]))
        expected = {
            "overlap": [p for p in every if p.start <= end and p.end >= start],
            "start": [p for p in every if start <= p.start <= end],
            "within": [p for p in every if start <= p.start and p.end <= end],
        }
        for rule, periods in expected.items():
            assert periods_between(period_type, start, end, rule=rule) == periods, (
                rule,
                start,
                end,
            )


def test_periods_between_errors() -> None:
    with pytest.raises(PeriodError, match="after the end date"):
        periods_between("Monthly", D(2024, 2, 1), D(2024, 1, 1))
    with pytest.raises(PeriodError, match="Unknown rule"):
        bad_rule: Any = "inside"
        periods_between("Monthly", D(2024, 1, 1), D(2024, 2, 1), rule=bad_rule)
    with pytest.raises(PeriodError, match="Unknown period type"):
        periods_between("Fortnightly", D(2024, 1, 1), D(2024, 2, 1))


# --------------------------------------------------------------------------------------------
# next / previous
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period_id", "previous_id", "next_id"),
    [
        ("202401", "202312", "202402"),
        ("2021W1", "2020W53", "2021W2"),
        ("2016W1", "2015W53", "2016W2"),
        ("2020BiW27", "2020BiW26", "2021BiW1"),
        ("2021BiW1", "2020BiW27", "2021BiW2"),
        ("2025BiW1", "2024BiW26", "2025BiW2"),
        ("2025NovS1", "2024NovS2", "2025NovS2"),
        ("2025NovQ1", "2024NovQ4", "2025NovQ2"),
        ("2024AprilS1", "2023AprilS2", "2024AprilS2"),
        ("202401B", "202306B", "202402B"),
        ("20240301", "20240229", "20240302"),
        ("20230301", "20230228", "20230302"),
        ("2025Nov", "2024Nov", "2026Nov"),
        ("2024", "2023", "2025"),
    ],
)
def test_next_and_previous(period_id: str, previous_id: str, next_id: str) -> None:
    period = parse_period(period_id)
    assert previous_period(period).id == previous_id
    assert next_period(period).id == next_id


# --------------------------------------------------------------------------------------------
# Period value object
# --------------------------------------------------------------------------------------------


def test_period_is_frozen_and_hashable() -> None:
    period = parse_period("2024Q1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        period.id = "2024Q2"  # type: ignore[misc]
    assert len({period, parse_period("2024Q1"), parse_period("2024Q2")}) == 2


def test_periods_order_by_start() -> None:
    mixed = [parse_period(i) for i in ["2024Q2", "202401", "2023", "20240215", "2024W1", "2024"]]
    assert [p.id for p in sorted(mixed)] == [
        "2023",
        "2024W1",  # same start as 202401 and 2024: the shorter period first
        "202401",
        "2024",
        "20240215",
        "2024Q2",
    ]
    assert parse_period("2023") < parse_period("202401") < parse_period("2024Q2")
    assert parse_period("2024Q2") > parse_period("20240215")
    assert parse_period("202401") <= parse_period("202401")
    assert not parse_period("202402") < parse_period("202401")


def test_periods_with_the_same_start_order_by_end() -> None:
    month, quarter, year = parse_period("202401"), parse_period("2024Q1"), parse_period("2024")
    assert sorted([year, quarter, month]) == [month, quarter, year]


def test_comparing_with_other_objects_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        _ = parse_period("2024") < "2024"  # type: ignore[operator]


def test_period_days_and_membership() -> None:
    period = parse_period("202402")
    assert period.days == 29
    assert D(2024, 2, 29) in period
    assert D(2024, 3, 1) not in period
    assert "2024-02-10" not in period


# --------------------------------------------------------------------------------------------
# Relative periods
# --------------------------------------------------------------------------------------------

# RelativePeriodEnum in dhis2-core (newest release)
DHIS2_RELATIVE = {
    "TODAY", "YESTERDAY", "LAST_3_DAYS", "LAST_7_DAYS", "LAST_14_DAYS", "LAST_30_DAYS",
    "LAST_60_DAYS", "LAST_90_DAYS", "LAST_180_DAYS", "THIS_MONTH", "LAST_MONTH", "THIS_BIMONTH",
    "LAST_BIMONTH", "THIS_QUARTER", "LAST_QUARTER", "THIS_SIX_MONTH", "LAST_SIX_MONTH",
    "WEEKS_THIS_YEAR", "MONTHS_THIS_YEAR", "BIMONTHS_THIS_YEAR", "QUARTERS_THIS_YEAR", "THIS_YEAR",
    "MONTHS_LAST_YEAR", "QUARTERS_LAST_YEAR", "LAST_YEAR", "LAST_5_YEARS", "LAST_10_YEARS",
    "LAST_12_MONTHS", "LAST_6_MONTHS", "LAST_3_MONTHS", "LAST_6_BIMONTHS", "LAST_4_QUARTERS",
    "LAST_2_SIXMONTHS", "THIS_FINANCIAL_YEAR", "LAST_FINANCIAL_YEAR", "LAST_5_FINANCIAL_YEARS",
    "LAST_10_FINANCIAL_YEARS", "THIS_WEEK", "LAST_WEEK", "THIS_BIWEEK", "LAST_BIWEEK",
    "LAST_4_WEEKS", "LAST_4_BIWEEKS", "LAST_12_WEEKS", "LAST_52_WEEKS",
}  # fmt: skip
GENERIC = {"THIS", "LAST", "LAST_N", "THIS_AND_LAST_N"}


def ids(periods: list[Period]) -> list[str]:
    return [p.id for p in periods]


def test_relative_choices_cover_dhis2_and_generic() -> None:
    values = [value for value, _ in RELATIVE_CHOICES]
    assert len(values) == len(set(values))
    assert set(values) == DHIS2_RELATIVE | GENERIC
    assert values[:4] == ["THIS", "LAST", "LAST_N", "THIS_AND_LAST_N"]
    for value, label in RELATIVE_CHOICES:
        assert label and label[0].isupper() and label != value
    labels = dict(RELATIVE_CHOICES)
    assert labels["LAST_3_MONTHS"] == "Last 3 months"
    assert labels["LAST_2_SIXMONTHS"] == "Last 2 six-month periods"


@pytest.mark.parametrize(
    ("period_type", "choice", "today", "n", "expected"),
    [
        ("Monthly", "THIS", D(2024, 2, 29), None, ["202402"]),
        ("Monthly", "LAST", D(2024, 2, 29), None, ["202401"]),
        ("Monthly", "LAST_N", D(2024, 2, 29), 3, ["202311", "202312", "202401"]),
        ("Monthly", "THIS_AND_LAST_N", D(2024, 2, 29), 2, ["202312", "202401", "202402"]),
        ("Monthly", "THIS", D(2024, 3, 31), None, ["202403"]),
        ("Monthly", "LAST", D(2024, 3, 31), None, ["202402"]),
        ("Monthly", "LAST", D(2024, 1, 1), None, ["202312"]),
        ("Daily", "LAST", D(2024, 3, 1), None, ["20240229"]),
        ("Daily", "LAST", D(2023, 3, 1), None, ["20230228"]),
        ("Daily", "LAST_N", D(2024, 3, 2), 3, ["20240228", "20240229", "20240301"]),
        ("Weekly", "THIS", D(2021, 1, 1), None, ["2020W53"]),
        ("Weekly", "LAST", D(2021, 1, 1), None, ["2020W52"]),
        ("Weekly", "THIS_AND_LAST_N", D(2021, 1, 4), 1, ["2020W53", "2021W1"]),
        ("WeeklySunday", "THIS", D(2021, 1, 1), None, ["2020SunW53"]),
        ("BiWeekly", "THIS", D(2021, 1, 5), None, ["2021BiW1"]),
        ("BiWeekly", "LAST", D(2021, 1, 5), None, ["2020BiW27"]),
        ("Quarterly", "LAST", D(2024, 1, 1), None, ["2023Q4"]),
        ("Quarterly", "LAST_N", D(2024, 1, 1), 4, ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]),
        ("Yearly", "THIS", D(2024, 12, 31), None, ["2024"]),
        ("Yearly", "LAST_N", D(2024, 1, 1), 2, ["2022", "2023"]),
        ("FinancialApril", "THIS", D(2024, 3, 31), None, ["2023April"]),
        ("FinancialApril", "THIS", D(2024, 4, 1), None, ["2024April"]),
        ("FinancialNov", "THIS", D(2024, 11, 1), None, ["2025Nov"]),
        ("FinancialNov", "LAST", D(2024, 11, 1), None, ["2024Nov"]),
        ("SixMonthlyNov", "THIS_AND_LAST_N", D(2025, 1, 1), 1, ["2024NovS2", "2025NovS1"]),
        ("QuarterlyNov", "THIS", D(2024, 2, 29), None, ["2024NovQ2"]),
    ],
)
def test_generic_relative(
    period_type: str, choice: str, today: date, n: int | None, expected: list[str]
) -> None:
    assert ids(relative_periods(period_type, choice, today=today, n=n)) == expected


def test_last_n_is_oldest_first_and_excludes_current() -> None:
    periods = relative_periods("Daily", "LAST_N", today=D(2024, 3, 1), n=366)
    assert periods[0].id == "20230301" and periods[-1].id == "20240229"
    assert all(a.end + DAY == b.start for a, b in pairwise(periods))


@pytest.mark.parametrize(
    ("period_type", "choice", "today", "expected"),
    [
        # each named choice on its own unit type, as DHIS2 resolves it
        ("Daily", "TODAY", D(2024, 2, 29), ["20240229"]),
        ("Daily", "YESTERDAY", D(2024, 3, 1), ["20240229"]),
        ("Daily", "YESTERDAY", D(2024, 1, 1), ["20231231"]),
        ("Daily", "LAST_3_DAYS", D(2024, 3, 1), ["20240227", "20240228", "20240229"]),
        ("Monthly", "THIS_MONTH", D(2024, 2, 29), ["202402"]),
        ("Monthly", "LAST_MONTH", D(2024, 3, 31), ["202402"]),
        ("Monthly", "LAST_MONTH", D(2024, 1, 1), ["202312"]),
        ("Monthly", "LAST_3_MONTHS", D(2024, 1, 1), ["202310", "202311", "202312"]),
        (
            "Monthly",
            "LAST_6_MONTHS",
            D(2024, 2, 29),
            ["202308", "202309", "202310", "202311", "202312", "202401"],
        ),
        ("BiMonthly", "THIS_BIMONTH", D(2024, 2, 29), ["202401B"]),
        ("BiMonthly", "LAST_BIMONTH", D(2024, 3, 1), ["202401B"]),
        ("BiMonthly", "LAST_6_BIMONTHS", D(2024, 1, 1), [f"2023{i:02d}B" for i in range(1, 7)]),
        (
            "BiMonthly",
            "BIMONTHS_THIS_YEAR",
            D(2024, 12, 31),
            [f"2024{i:02d}B" for i in range(1, 7)],
        ),
        ("Quarterly", "THIS_QUARTER", D(2024, 3, 31), ["2024Q1"]),
        ("Quarterly", "LAST_QUARTER", D(2024, 1, 1), ["2023Q4"]),
        ("Quarterly", "LAST_4_QUARTERS", D(2024, 5, 15), ["2023Q2", "2023Q3", "2023Q4", "2024Q1"]),
        (
            "Quarterly",
            "QUARTERS_THIS_YEAR",
            D(2024, 1, 1),
            ["2024Q1", "2024Q2", "2024Q3", "2024Q4"],
        ),
        (
            "Quarterly",
            "QUARTERS_LAST_YEAR",
            D(2024, 1, 1),
            ["2023Q1", "2023Q2", "2023Q3", "2023Q4"],
        ),
        ("SixMonthly", "THIS_SIX_MONTH", D(2024, 6, 30), ["2024S1"]),
        ("SixMonthly", "LAST_SIX_MONTH", D(2024, 7, 1), ["2024S1"]),
        ("SixMonthly", "LAST_2_SIXMONTHS", D(2024, 1, 1), ["2023S1", "2023S2"]),
        ("Yearly", "THIS_YEAR", D(2024, 2, 29), ["2024"]),
        ("Yearly", "LAST_YEAR", D(2024, 1, 1), ["2023"]),
        ("Yearly", "LAST_5_YEARS", D(2024, 1, 1), ["2019", "2020", "2021", "2022", "2023"]),
        ("Weekly", "THIS_WEEK", D(2021, 1, 1), ["2020W53"]),
        ("Weekly", "LAST_WEEK", D(2021, 1, 4), ["2020W53"]),
        ("Weekly", "LAST_4_WEEKS", D(2021, 1, 1), ["2020W49", "2020W50", "2020W51", "2020W52"]),
        ("BiWeekly", "THIS_BIWEEK", D(2020, 12, 29), ["2020BiW27"]),
        ("BiWeekly", "LAST_BIWEEK", D(2021, 1, 18), ["2021BiW1"]),
        (
            "BiWeekly",
            "LAST_4_BIWEEKS",
            D(2021, 1, 18),
            ["2020BiW25", "2020BiW26", "2020BiW27", "2021BiW1"],
        ),
        ("FinancialApril", "THIS_FINANCIAL_YEAR", D(2024, 2, 29), ["2023April"]),
        ("FinancialApril", "LAST_FINANCIAL_YEAR", D(2024, 2, 29), ["2022April"]),
        (
            "FinancialApril",
            "LAST_5_FINANCIAL_YEARS",
            D(2024, 4, 1),
            ["2019April", "2020April", "2021April", "2022April", "2023April"],
        ),
        ("FinancialNov", "THIS_FINANCIAL_YEAR", D(2024, 11, 1), ["2025Nov"]),
        ("FinancialNov", "LAST_FINANCIAL_YEAR", D(2024, 11, 1), ["2024Nov"]),
        # named choice mapped onto another type: same granularity -> the data set's own periods
        ("WeeklySunday", "THIS_WEEK", D(2024, 1, 10), ["2024SunW2"]),
        ("WeeklyWednesday", "LAST_WEEK", D(2024, 1, 10), ["2024WedW1"]),
        ("FinancialApril", "THIS_YEAR", D(2024, 6, 15), ["2024April"]),
        ("FinancialApril", "THIS_YEAR", D(2024, 2, 29), ["2023April"]),
        ("FinancialJuly", "LAST_YEAR", D(2024, 6, 15), ["2022July"]),
        ("QuarterlyNov", "THIS_QUARTER", D(2024, 2, 29), ["2024NovQ2"]),
        ("Yearly", "THIS_FINANCIAL_YEAR", D(2024, 2, 29), ["2024"]),
        # finer data set type -> periods starting inside the span
        ("Weekly", "LAST_MONTH", D(2024, 3, 1), ["2024W6", "2024W7", "2024W8", "2024W9"]),
        ("Daily", "THIS_MONTH", D(2024, 2, 29), [f"202402{d:02d}" for d in range(1, 30)]),
        ("Monthly", "THIS_QUARTER", D(2024, 2, 29), ["202401", "202402", "202403"]),
        ("Monthly", "LAST_YEAR", D(2024, 1, 1), [f"2023{m:02d}" for m in range(1, 13)]),
        (
            "Monthly",
            "THIS_FINANCIAL_YEAR",
            D(2024, 2, 29),
            ["202310", "202311", "202312"] + [f"2024{m:02d}" for m in range(1, 10)],
        ),
        (
            "Quarterly",
            "LAST_FINANCIAL_YEAR",
            D(2024, 2, 29),
            ["2022Q4", "2023Q1", "2023Q2", "2023Q3"],
        ),
        (
            "QuarterlyNov",
            "THIS_FINANCIAL_YEAR",
            D(2024, 2, 29),
            ["2024NovQ1", "2024NovQ2", "2024NovQ3", "2024NovQ4"],
        ),
        ("SixMonthlyApril", "THIS_FINANCIAL_YEAR", D(2024, 2, 29), ["2023AprilS1", "2023AprilS2"]),
        ("SixMonthlyNov", "LAST_FINANCIAL_YEAR", D(2024, 2, 29), ["2023NovS1", "2023NovS2"]),
        (
            "QuarterlyNov",
            "QUARTERS_THIS_YEAR",
            D(2024, 2, 29),
            ["2024NovQ2", "2024NovQ3", "2024NovQ4", "2025NovQ1"],
        ),
        ("Monthly", "LAST_4_QUARTERS", D(2024, 1, 1), [f"2023{m:02d}" for m in range(1, 13)]),
        # coarser data set type -> the period(s) containing the span
        ("Monthly", "LAST_WEEK", D(2024, 2, 29), ["202402"]),
        ("Monthly", "LAST_WEEK", D(2024, 3, 5), ["202402", "202403"]),
        ("Monthly", "TODAY", D(2024, 2, 29), ["202402"]),
        ("Monthly", "YESTERDAY", D(2024, 3, 1), ["202402"]),
        ("Monthly", "LAST_30_DAYS", D(2024, 3, 1), ["202401", "202402"]),
        ("Monthly", "LAST_7_DAYS", D(2024, 3, 8), ["202403"]),
        ("Weekly", "TODAY", D(2024, 2, 29), ["2024W9"]),
        ("Yearly", "LAST_WEEK", D(2024, 1, 3), ["2023"]),
        ("Yearly", "LAST_WEEK", D(2025, 1, 8), ["2024", "2025"]),
        ("Yearly", "LAST_3_MONTHS", D(2024, 2, 29), ["2023", "2024"]),
        (
            "Quarterly",
            "LAST_12_MONTHS",
            D(2024, 2, 29),
            ["2023Q1", "2023Q2", "2023Q3", "2023Q4", "2024Q1"],
        ),
        ("FinancialNov", "THIS_MONTH", D(2024, 11, 30), ["2025Nov"]),
        ("SixMonthlyNov", "LAST_QUARTER", D(2024, 12, 1), ["2024NovS2"]),
    ],
)
def test_named_relative(period_type: str, choice: str, today: date, expected: list[str]) -> None:
    assert ids(relative_periods(period_type, choice, today=today)) == expected


@pytest.mark.parametrize(
    ("choice", "today", "count", "first", "last"),
    [
        ("LAST_7_DAYS", D(2024, 3, 1), 7, "20240223", "20240229"),
        ("LAST_14_DAYS", D(2024, 3, 1), 14, "20240216", "20240229"),
        ("LAST_30_DAYS", D(2024, 3, 1), 30, "20240131", "20240229"),
        ("LAST_60_DAYS", D(2024, 1, 1), 60, "20231102", "20231231"),
        ("LAST_90_DAYS", D(2024, 1, 1), 90, "20231003", "20231231"),
        ("LAST_180_DAYS", D(2024, 1, 1), 180, "20230705", "20231231"),
        ("THIS_YEAR", D(2024, 2, 29), 366, "20240101", "20241231"),
        ("LAST_MONTH", D(2023, 3, 15), 28, "20230201", "20230228"),
    ],
)
def test_named_relative_days(choice: str, today: date, count: int, first: str, last: str) -> None:
    periods = relative_periods("Daily", choice, today=today)
    assert (len(periods), periods[0].id, periods[-1].id) == (count, first, last)


@pytest.mark.parametrize(
    ("period_type", "choice", "today", "count", "first", "last"),
    [
        ("Monthly", "LAST_12_MONTHS", D(2024, 2, 29), 12, "202302", "202401"),
        ("Monthly", "MONTHS_THIS_YEAR", D(2024, 2, 29), 12, "202401", "202412"),
        ("Monthly", "MONTHS_LAST_YEAR", D(2024, 1, 1), 12, "202301", "202312"),
        ("Weekly", "LAST_12_WEEKS", D(2024, 1, 1), 12, "2023W41", "2023W52"),
        ("Weekly", "LAST_52_WEEKS", D(2021, 1, 1), 52, "2020W1", "2020W52"),
        ("Weekly", "LAST_52_WEEKS", D(2021, 1, 4), 52, "2020W2", "2020W53"),
        ("Weekly", "WEEKS_THIS_YEAR", D(2020, 6, 1), 53, "2020W1", "2020W53"),
        ("Weekly", "WEEKS_THIS_YEAR", D(2024, 12, 31), 52, "2024W1", "2024W52"),
        ("Weekly", "THIS_YEAR", D(2024, 6, 1), 53, "2024W1", "2025W1"),
        ("Weekly", "LAST_3_MONTHS", D(2024, 2, 29), 13, "2023W45", "2024W5"),
        ("Yearly", "LAST_10_YEARS", D(2024, 1, 1), 10, "2014", "2023"),
        ("FinancialOct", "LAST_10_FINANCIAL_YEARS", D(2024, 10, 1), 10, "2014Oct", "2023Oct"),
        ("BiWeekly", "LAST_3_MONTHS", D(2021, 2, 1), 7, "2020BiW23", "2021BiW2"),
    ],
)
def test_named_relative_lists(
    period_type: str, choice: str, today: date, count: int, first: str, last: str
) -> None:
    periods = relative_periods(period_type, choice, today=today)
    assert (len(periods), periods[0].id, periods[-1].id) == (count, first, last)


def test_financial_year_start_override() -> None:
    july = relative_periods(
        "Monthly", "THIS_FINANCIAL_YEAR", today=D(2024, 2, 29), financial_year_start="FinancialJuly"
    )
    assert ids(july) == [f"2023{m:02d}" for m in range(7, 13)] + [
        f"2024{m:02d}" for m in range(1, 7)
    ]
    nov = relative_periods(
        "Quarterly",
        "LAST_FINANCIAL_YEAR",
        today=D(2024, 2, 29),
        financial_year_start="FinancialNov",
    )
    assert ids(nov) == ["2023Q1", "2023Q2", "2023Q3", "2023Q4"]
    with pytest.raises(PeriodError, match="not a financial year"):
        relative_periods(
            "Monthly", "THIS_FINANCIAL_YEAR", today=D(2024, 1, 1), financial_year_start="Yearly"
        )
    with pytest.raises(PeriodError, match="Unknown period type"):
        relative_periods(
            "Monthly", "THIS_FINANCIAL_YEAR", today=D(2024, 1, 1), financial_year_start="April"
        )


TODAYS = [
    D(2024, 2, 29),
    D(2024, 1, 1),
    D(2023, 12, 31),
    D(2024, 3, 31),
    D(2021, 1, 1),
    D(2020, 12, 31),
    D(2024, 11, 1),
    D(2025, 6, 15),
]
NAMED_CHOICES = sorted(DHIS2_RELATIVE)


@pytest.mark.parametrize("choice", NAMED_CHOICES)
def test_named_relative_invariants_on_every_type(choice: str) -> None:
    """On every data set type the result is non-empty, of that type, sorted and unique."""
    for today in TODAYS:
        for period_type in ALL_TYPES:
            result = relative_periods(period_type, choice, today=today)
            assert result, (period_type, choice, today)
            assert all(p.period_type == period_type for p in result)
            assert result == sorted(result)
            assert len(set(result)) == len(result)
            for period in result:
                assert parse_period(period.id) == period


@pytest.mark.parametrize(
    ("unit", "choice"),
    [
        ("Daily", "LAST_30_DAYS"),
        ("Daily", "YESTERDAY"),
        ("Weekly", "LAST_4_WEEKS"),
        ("Weekly", "THIS_WEEK"),
        ("BiWeekly", "LAST_BIWEEK"),
        ("Monthly", "LAST_3_MONTHS"),
        ("Monthly", "MONTHS_LAST_YEAR"),
        ("Quarterly", "LAST_QUARTER"),
        ("SixMonthly", "LAST_2_SIXMONTHS"),
        ("Yearly", "LAST_YEAR"),
    ],
)
def test_named_relative_span_rule(unit: str, choice: str) -> None:
    frequency = PERIOD_TYPES[unit].frequency
    for today in TODAYS:
        own = relative_periods(unit, choice, today=today)
        first, last = own[0].start, own[-1].end
        for period_type in ALL_TYPES:
            result = relative_periods(period_type, choice, today=today)
            kind = PERIOD_TYPES[period_type]
            if kind.frequency < frequency:  # finer: periods starting inside the span
                assert all(first <= p.start <= last for p in result)
                assert result == periods_between(period_type, first, last, rule="start")
            elif kind.frequency > frequency:  # coarser: the periods containing the span
                assert all(p.start <= last and p.end >= first for p in result)
                assert result[0].start <= first and result[-1].end >= last
                assert result == periods_between(period_type, first, last, rule="overlap")
            else:  # same granularity: as many of the data set's own periods
                assert len(result) == len(own)


@pytest.mark.parametrize(
    ("choice", "n", "normalised"),
    [
        ("THIS", None, "THIS"),
        ("last", None, "LAST"),
        (" last_n ", 3, "LAST_N"),
        ("THIS_AND_LAST_N", 1, "THIS_AND_LAST_N"),
        ("LAST_N", 10_000, "LAST_N"),
        ("this_month", None, "THIS_MONTH"),
        ("LAST_52_WEEKS", None, "LAST_52_WEEKS"),
    ],
)
def test_validate_relative_accepts(choice: str, n: int | None, normalised: str) -> None:
    assert validate_relative(choice, n) == normalised


@pytest.mark.parametrize(
    ("choice", "n", "hint"),
    [
        ("NEXT", None, "Unknown relative period 'NEXT'"),
        ("", None, "Unknown relative period"),
        (None, None, "Unknown relative period"),
        ("LAST_2_MONTHS", None, "Choose one of: THIS, LAST"),
        ("LAST_N", None, "needs the number of periods"),
        ("THIS_AND_LAST_N", None, "needs the number of periods"),
        ("LAST_N", 0, "from 1 to 10000"),
        ("LAST_N", -2, "from 1 to 10000"),
        ("LAST_N", 10_001, "from 1 to 10000"),
        ("LAST_N", True, "from 1 to 10000"),
        ("LAST_N", 2.5, "from 1 to 10000"),
        ("LAST_N", "3", "from 1 to 10000"),
        ("THIS_MONTH", 3, "does not take a number"),
        ("THIS", 1, "does not take a number"),
    ],
)
def test_validate_relative_rejects(choice: object, n: object, hint: str) -> None:
    with pytest.raises(PeriodError, match=re.escape(hint)):
        validate_relative(choice, n)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=re.escape(hint)):
        relative_periods("Monthly", choice, today=D(2024, 1, 1), n=n)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("choice", "needs"),
    [
        ("LAST_N", True),
        ("this_and_last_n", True),
        ("LAST", False),
        ("LAST_3_MONTHS", False),
        ("x", False),
    ],
)
def test_relative_choice_needs_n(choice: str, needs: bool) -> None:
    assert relative_choice_needs_n(choice) is needs


def test_relative_periods_unknown_type() -> None:
    with pytest.raises(PeriodError, match="Unknown period type 'Fortnightly'"):
        relative_periods("Fortnightly", "THIS", today=D(2024, 1, 1))


def test_relative_today_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        relative_periods("Monthly", "THIS", D(2024, 1, 1))  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Module hygiene
# --------------------------------------------------------------------------------------------


def test_module_imports_without_django() -> None:
    root = Path(__file__).resolve().parents[2]
    code = "import sys, dhis2.periods; sys.exit('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=root, check=False)
    assert result.returncode == 0


def test_public_names_exist() -> None:
    for name in P.__all__:
        assert hasattr(P, name), name
