"""Cron expressions: validation, the next run times (month ends, day names, zones, DST) and the
sentence that describes them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from jobs.cron import (
    describe_cron,
    next_runs,
    preview,
    validate_cron,
    validate_emails,
    validate_timezone,
)

BERLIN = ZoneInfo("Europe/Berlin")


def local(*args: int, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime(*args, tzinfo=zone)


def wall(times: list[datetime]) -> list[str]:
    """Times as wall-clock text with their UTC offset, e.g. "2025-03-30 03:00+02:00"."""
    return [t.strftime("%Y-%m-%d %H:%M%z")[:-2] + ":" + t.strftime("%z")[-2:] for t in times]


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("0 2 * * *", "0 2 * * *"),
        ("  */15   *  * *   1-5 ", "*/15 * * * 1-5"),
        ("30 23 L * *", "30 23 L * *"),
        ("0 6 * * mon-fri", "0 6 * * mon-fri"),
        ("0 6 1 jan,jul *", "0 6 1 jan,jul *"),
        ("0 9 * * MON#1", "0 9 * * MON#1"),
    ],
)
def test_valid_expressions_are_normalised(given: str, normalised: str) -> None:
    assert validate_cron(given) == normalised


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 0 2 * * *", '"0 0 2 * * *" has 6 fields, not 5.'),
        ("0 2 * *", '"0 2 * *" has 4 fields, not 5.'),
        ("@daily", '"@daily" has 1 field, not 5.'),
        ("", "Enter a cron expression."),
        ("61 2 * * *", 'the minute field "61" is not valid (minute takes 0-59)'),
        ("0 24 * * *", 'the hour field "24" is not valid (hour takes 0-23)'),
        ("0 2 32 * *", 'the day-of-month field "32" is not valid'),
        ("0 2 * 13 *", 'the month field "13" is not valid'),
        ("0 2 * * funday", 'the day-of-week field "funday" is not valid'),
        ("*/0 * * * *", 'the minute field "*/0" is not valid'),
        ("0 2 30 2 *", "never matches a date (like 30 February), so it would never run."),
    ],
)
def test_invalid_expressions_say_why_and_show_the_accepted_form(cron: str, problem: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_cron(cron)
    message = info.value.messages[0]
    assert problem in message
    assert "minute hour day-of-month month day-of-week" in message
    assert '"0 2 * * *" (every day at 02:00)' in message


def test_time_zone_and_email_validation() -> None:
    assert validate_timezone("Africa/Nairobi") == "Africa/Nairobi"
    with pytest.raises(ValidationError, match="not a time zone"):
        validate_timezone("Mars/Olympus")
    with pytest.raises(ValidationError, match="not a time zone"):
        validate_timezone("../etc/passwd")
    assert validate_emails(" a@example.org,b@example.org; a@example.org ") == (
        "a@example.org, b@example.org"
    )
    assert validate_emails(["ops@example.org"]) == "ops@example.org"
    assert validate_emails("") == ""
    with pytest.raises(ValidationError, match='"not-an-address" is not an e-mail address'):
        validate_emails("ops@example.org, not-an-address")


# --- next run times --------------------------------------------------------------------------


def test_daily_in_the_schedules_zone_not_the_projects(settings) -> None:
    settings.TIME_ZONE = "UTC"
    after = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    times = next_runs("0 2 * * *", "Africa/Nairobi", after=after, count=2)
    assert wall(times) == ["2025-06-02 02:00+03:00", "2025-06-03 02:00+03:00"]
    assert times[0].astimezone(UTC) == datetime(2025, 6, 1, 23, 0, tzinfo=UTC)


def test_times_are_strictly_after_the_start() -> None:
    times = next_runs("0 2 * * *", "UTC", after=datetime(2025, 6, 1, 2, 0, tzinfo=UTC), count=1)
    assert times == [datetime(2025, 6, 2, 2, 0, tzinfo=ZoneInfo("UTC"))]


def test_last_day_of_the_month_handles_month_lengths_and_leap_years() -> None:
    times = next_runs("30 23 L * *", "UTC", after=local(2024, 1, 15, zone=UTC), count=4)
    assert [t.date().isoformat() for t in times] == [
        "2024-01-31",
        "2024-02-29",
        "2024-03-31",
        "2024-04-30",
    ]


def test_day_31_only_runs_in_months_that_have_one() -> None:
    times = next_runs("0 2 31 * *", "UTC", after=local(2025, 1, 15, zone=UTC), count=3)
    assert [t.date().isoformat() for t in times] == ["2025-01-31", "2025-03-31", "2025-05-31"]


@pytest.mark.parametrize("dow", ["mon-fri", "MON-FRI", "1-5"])
def test_day_of_week_names_and_numbers_agree(dow: str) -> None:
    start = local(2025, 6, 6, 12, 0, zone=UTC)  # a Friday
    times = next_runs(f"0 6 * * {dow}", "UTC", after=start, count=3)
    assert [t.strftime("%a %d") for t in times] == ["Mon 09", "Tue 10", "Wed 11"]


def test_sunday_is_0_7_and_sun() -> None:
    start = local(2025, 6, 2, zone=UTC)  # a Monday
    for dow in ("0", "7", "sun"):
        (first,) = next_runs(f"0 8 * * {dow}", "UTC", after=start, count=1)
        assert first.date().isoformat() == "2025-06-08"


def test_spring_forward_runs_a_skipped_time_once_right_after_the_gap() -> None:
    # Berlin, 30 March 2025: 02:00 -> 03:00, so 02:30 does not exist that day.
    times = next_runs("30 2 * * *", "Europe/Berlin", after=local(2025, 3, 28, 12), count=4)
    assert wall(times) == [
        "2025-03-29 02:30+01:00",
        "2025-03-30 03:00+02:00",
        "2025-03-31 02:30+02:00",
        "2025-04-01 02:30+02:00",
    ]


def test_fall_back_runs_a_repeated_time_once() -> None:
    # Berlin, 26 October 2025: 03:00 -> 02:00, so 02:30 happens twice; run only the first.
    times = next_runs("30 2 * * *", "Europe/Berlin", after=local(2025, 10, 25, 12), count=3)
    assert wall(times) == [
        "2025-10-26 02:30+02:00",
        "2025-10-27 02:30+01:00",
        "2025-10-28 02:30+01:00",
    ]


def test_frequent_schedule_across_the_gap_has_no_duplicates() -> None:
    times = next_runs("*/30 * * * *", "Europe/Berlin", after=local(2025, 3, 30, 1, 10), count=4)
    assert wall(times) == [
        "2025-03-30 01:30+01:00",
        "2025-03-30 03:00+02:00",
        "2025-03-30 03:30+02:00",
        "2025-03-30 04:00+02:00",
    ]
    assert len({t.astimezone(UTC) for t in times}) == 4


def test_starting_inside_the_repeated_hour_moves_forward() -> None:
    second_0215 = datetime(2025, 10, 26, 2, 15, tzinfo=BERLIN, fold=1)  # 01:15 UTC
    (first,) = next_runs("30 * * * *", "Europe/Berlin", after=second_0215, count=1)
    assert first.timestamp() > second_0215.timestamp()
    assert wall([first]) == ["2025-10-26 03:30+01:00"]


# --- description -----------------------------------------------------------------------------


# The sentences are cron-descriptor's (checked by hand against cron(5) for each row); ours
# is only the OR between the two day fields, which the library says for some forms only.
@pytest.mark.parametrize(
    ("cron", "sentence"),
    [
        ("* * * * *", "every minute"),
        ("*/15 * * * *", "every 15 minutes"),
        ("*/15 * * * 1-5", "every 15 minutes, Monday through Friday"),
        ("5 * * * *", "at 5 minutes past the hour"),
        ("0,30 * * * *", "at 0 and 30 minutes past the hour"),
        ("0 */6 * * *", "every 6 hours"),
        ("0 2 * * *", "at 02:00"),
        ("30 18 * * *", "at 18:30"),
        ("0 2,14 * * *", "at 02:00 and 14:00"),
        ("0 6 * * 1-5", "at 06:00, Monday through Friday"),
        ("0 6 * * mon-fri", "at 06:00, Monday through Friday"),
        ("0 10 * * sat,sun", "at 10:00, only on Saturday and Sunday"),
        ("0 2 * * 1", "at 02:00, only on Monday"),
        ("0 2 * * 0", "at 02:00, only on Sunday"),
        ("0 2 * * 7", "at 02:00, only on Sunday"),
        ("30 8 * * mon,wed,fri", "at 08:30, only on Monday, Wednesday, and Friday"),
        ("0 2 1 * *", "at 02:00, on day 1 of the month"),
        ("0 2 1,15 * *", "at 02:00, on day 1 and 15 of the month"),
        ("30 23 L * *", "at 23:30, on the last day of the month"),
        ("0 3 * jan,jul *", "at 03:00, only in January and July"),
        (
            "15 4 1 1,4,7,10 *",
            "at 04:15, on day 1 of the month, only in January, April, July, and October",
        ),
        ("0 12 15 6 *", "at 12:00, on day 15 of the month, only in June"),
        ("0 9 * * MON#1", "at 09:00, on the first Monday of the month"),
        ("0 9-17 * * *", "at 0 minutes past the hour, between 09:00 and 17:59"),
        ("*/5 9-17 * * 1-5", "every 5 minutes, between 09:00 and 17:59, Monday through Friday"),
        ("0 2 ? * ?", "at 02:00"),
    ],
)
def test_description(cron: str, sentence: str) -> None:
    assert describe_cron(cron) == sentence


@pytest.mark.parametrize(
    ("cron", "sentence"),
    [
        # Issue 8.4: this said "on days 1 to 7 of every month and every Monday at 02:00".
        ("0 2 1-7 * 1", "at 02:00, between day 1 and 7 of the month, or on Monday"),
        # cron-descriptor alone says "..., Monday through Friday" here: it reads as "and".
        ("0 2 1-7 * 1-5", "at 02:00, between day 1 and 7 of the month, or on Monday through Friday"),
        ("0 2 L * mon-fri", "at 02:00, on the last day of the month, or on Monday through Friday"),
        ("0 2 1 * */2", "at 02:00, on day 1 of the month, or every 2 days of the week"),
        ("0 2 */2 * 1", "at 02:00, every 2 days, or on Monday"),  # croniter ORs "*/2" too
        ("0 2 1,15 * sat,sun", "at 02:00, on day 1 and 15 of the month, or on Saturday and Sunday"),
        (
            "0 2 1-7 jan,jul 1",
            "at 02:00, only in January and July, between day 1 and 7 of the month, or on Monday",
        ),
    ],
)  # fmt: skip
def test_both_day_fields_restricted_are_described_as_or(cron: str, sentence: str) -> None:
    assert describe_cron(cron) == sentence


def test_the_or_sentence_matches_the_runs_croniter_computes() -> None:
    """June 2025 starts on a Sunday: days 1-7 are every weekday once, then only Mondays."""
    runs = next_runs("0 2 1-7 * 1", "UTC", after=datetime(2025, 5, 31, 12, tzinfo=UTC), count=11)
    assert [t.day for t in runs] == [1, 2, 3, 4, 5, 6, 7, 9, 16, 23, 30]
    assert describe_cron("0 2 1-7 * 1").endswith("of the month, or on Monday")


@pytest.mark.parametrize(
    ("cron", "runs_on"),
    [
        ("0 2 1W * 1", ["Mon 01", "Thu 01", "Fri 01"]),  # the weekday field is ignored
        ("0 2 1 * 6#1", ["Sat 06", "Sat 03", "Sat 02"]),  # the day of month is ignored
    ],
)
def test_w_and_hash_with_both_day_fields_are_not_described_as_or_or_and(
    cron: str, runs_on: list[str]
) -> None:
    """croniter neither ORs nor ANDs these; the sentence sends the reader to the next runs."""
    runs = next_runs(cron, "UTC", after=datetime(2024, 1, 1, tzinfo=UTC), count=3)
    assert [t.strftime("%a %d") for t in runs] == runs_on
    sentence = describe_cron(cron)
    assert sentence.startswith("at 02:00, when day of month")
    assert sentence.endswith("check the next runs")


def test_unusual_expressions_still_read_as_sentences() -> None:
    assert describe_cron("0 2 1W * *") == "at 02:00, on the first weekday of the month"
    assert describe_cron("7-9 1-3,5 * * *") == (
        "minutes 7 through 9 past the hour, at 01:00 through 03:59 and 05:00"
    )


def test_invalid_stored_expressions_are_quoted_as_they_are() -> None:
    assert describe_cron("0 2 * * * *") == 'cron "0 2 * * * *"'
    assert describe_cron("0 2 x * *") == 'cron "0 2 x * *"'


def test_preview_bundles_description_and_next_runs(settings) -> None:
    settings.TIME_ZONE = "Europe/Berlin"
    result = preview("0 2 * * *", None, after=local(2025, 6, 1, 12))
    assert result.timezone == "Europe/Berlin"
    assert result.description == "at 02:00"
    assert wall(result.next_runs)[:2] == ["2025-06-02 02:00+02:00", "2025-06-03 02:00+02:00"]
    assert len(result.next_runs) == 5


def test_preview_reports_both_problems_by_field() -> None:
    with pytest.raises(ValidationError) as info:
        preview("0 2 * * * *", "Nowhere/Land")
    assert set(info.value.message_dict) == {"cron", "timezone"}
