"""Cron expressions: validation, the next run times (DST-aware, per time zone), the preview and
the description in words (cron-descriptor). Plain functions over strings and datetimes: the
schedule service, forms, serializers and notices all use them.

Wall-clock times and DST
------------------------
Cron times are wall-clock times in the schedule's zone. A time that does not exist (the hour
skipped when clocks go forward) runs once at the first minute after the gap; a time that occurs
twice (clocks go back) runs once, at its first occurrence. So "30 2 * * *" runs exactly once
every day of the year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from cron_descriptor import ExpressionDescriptor, FormatError, MissingFieldError
from cron_descriptor import Options as CronDescriptorOptions
from croniter import CroniterBadDateError, CroniterError, croniter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

CRON_FORM = "minute hour day-of-month month day-of-week"
CRON_EXAMPLE = '"0 2 * * *" (every day at 02:00)'


def _cron_error(cron: str, problem: str) -> ValidationError:
    return ValidationError(
        f"{problem} Use the 5-field form: {CRON_FORM}, e.g. {CRON_EXAMPLE} "
        'or "*/15 * * * 1-5" (every 15 minutes on weekdays).',
        code="invalid_cron",
    )


def validate_cron(value: str) -> str:
    """Return the expression with single spaces, or raise a ValidationError that shows the form.

    Exactly five fields: croniter also accepts a seconds or a year field and "@daily" macros,
    which django-q2 and most people would read differently, so those are refused.
    """
    cron = " ".join((value or "").split())
    if not cron:
        raise _cron_error(cron, "Enter a cron expression.")
    fields = cron.split(" ")
    if len(fields) != 5:
        raise _cron_error(
            cron, f'"{cron}" has {len(fields)} field{"s" if len(fields) != 1 else ""}, not 5.'
        )
    try:
        croniter(cron)
    except CroniterError as exc:
        raise _cron_error(
            cron, f'"{cron}" is not a valid cron expression: {_bad_field(fields)}.'
        ) from exc
    try:
        croniter(cron, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError as exc:
        raise _cron_error(
            cron, f'"{cron}" never matches a date (like 30 February), so it would never run.'
        ) from exc
    return cron


_FIELD_RULES = (
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31 or L"),
    ("month", "1-12 or jan-dec"),
    ("day-of-week", "0-7 or sun-sat, 0 and 7 being Sunday"),
)


def _bad_field(fields: list[str]) -> str:
    """Name the first field croniter refuses on its own, with what that field accepts."""
    for i, (name, accepted) in enumerate(_FIELD_RULES):
        probe = ["*"] * 5
        probe[i] = fields[i]
        try:
            croniter(" ".join(probe))
        except CroniterError:
            return f'the {name} field "{fields[i]}" is not valid ({name} takes {accepted})'
    return "the fields do not combine into a valid expression"


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(_zone_names())]


def validate_timezone(value: str) -> str:
    """Return the IANA zone name, or raise a ValidationError."""
    if value in _zone_names():
        return value
    raise ValidationError(
        f'"{value}" is not a time zone; use an IANA name such as "Europe/Berlin", '
        '"Africa/Nairobi" or "UTC".',
        code="invalid_timezone",
    )


def validate_emails(value: str | list[str]) -> str:
    """Return the addresses comma-separated, or raise a ValidationError naming the bad one."""
    items = value if isinstance(value, list) else re.split(r"[,;\s]+", value or "")
    emails = [e.strip() for e in items if e and e.strip()]
    for email in emails:
        try:
            validate_email(email)
        except ValidationError:
            raise ValidationError(
                f'"{email}" is not an e-mail address; separate addresses with commas.',
                code="invalid_email",
            ) from None
    return ", ".join(dict.fromkeys(emails))


def _is_wall_time(wall: datetime, zone: ZoneInfo) -> bool:
    """True when the naive wall-clock time exists in the zone (is not in a DST gap)."""
    aware = wall.replace(tzinfo=zone)
    return aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def _resolve_wall_time(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant of a wall-clock time: its first occurrence, or the end of a DST gap."""
    step = wall
    for _ in range(24 * 60):
        if _is_wall_time(step, zone):
            return step.replace(tzinfo=zone, fold=0)
        step += timedelta(minutes=1)
    raise ValueError(f"No valid time near {wall} in {zone.key}.")  # no zone has such a gap


def next_runs(
    cron: str, tz: str, *, after: datetime | None = None, count: int = 5
) -> list[datetime]:
    """The next `count` times (aware, in the schedule's zone) strictly after `after` (now).

    croniter walks naive wall-clock times so that DST changes neither double nor drop a daily
    run; see the module docstring for the rule.
    """
    zone = ZoneInfo(tz)
    start = (after or timezone.now()).astimezone(zone)
    it = croniter(cron, start.replace(tzinfo=None))
    found: list[datetime] = []
    last = start
    for _ in range(count * 2000):  # a DST gap skips at most 60 per-minute times
        if len(found) >= count:
            break
        when = _resolve_wall_time(it.get_next(datetime), zone)
        # Compare instants: Python compares two datetimes of the same zone by wall clock,
        # ignoring `fold`, which is wrong inside the repeated hour.
        if when.timestamp() > last.timestamp():
            found.append(when)
            last = when
    return found


#: cron-descriptor settings: 24-hour times and English, whatever the server's locale is.
_DESCRIBE_OPTIONS = CronDescriptorOptions()
_DESCRIBE_OPTIONS.use_24hour_time_format = True
_DESCRIBE_OPTIONS.locale_code = "en_US"
_DESCRIBE_OPTIONS.verbose = False


def _days_are_ored(cron: str) -> bool:
    """True when a run happens on a matching day of the month *or* a matching day of the week.

    That is cron's rule when both day fields are restricted, and it is the rule of croniter,
    which computes our run times (its `day_or`): asked in croniter's own terms so the sentence
    can never disagree with the next runs shown beside it (`*/2`, `1-31` and `L` count as
    restricted; `?` and `*` do not).
    """
    expanded = croniter(cron).expanded
    return expanded[2][0] != "*" and expanded[4][0] != "*"


def _or_weekdays(descriptor_text: str) -> str:
    """ ", only on Monday" / ", Monday through Friday" -> "or on Monday" / "or on Monday through
    Friday": cron-descriptor says "or" only for single days and lists, not ranges or '#'."""
    text = descriptor_text.removeprefix(", ").removeprefix("only ")
    if not text.startswith(("on ", "every ")):
        text = f"on {text}"
    return f"or {text}"


def _describe_with_library(fields: list[str]) -> str:
    minute, hour, dom, month, dow = fields
    cron = " ".join(fields)
    descriptor = ExpressionDescriptor(cron, _DESCRIBE_OPTIONS)
    if not _days_are_ored(cron):
        description: str = descriptor.get_description()  # cron-descriptor is untyped
        return description
    if "#" in dow or "W" in dom.upper():
        # croniter neither ORs nor ANDs these ("1W" with a weekday ignores the weekday; "#"
        # with a day of month ignores or intersects it): no sentence would be true of both.
        return (
            f'{descriptor.get_time_of_day_description()}, when day of month "{dom}" meets day '
            f'of week "{dow}", which cron programs read differently: check the next runs'
        )
    # Both day fields restricted: say "or" for every form of the day-of-week field, and put the
    # month first, since it limits both kinds of day ("in January, on day 1 or on Monday").
    weekdays = ExpressionDescriptor(
        " ".join([minute, hour, "*", month, dow]), _DESCRIBE_OPTIONS
    ).get_day_of_week_description()
    text = (
        f"{descriptor.get_time_of_day_description()}{descriptor.get_month_description()}"
        f"{descriptor.get_day_of_month_description()}, {_or_weekdays(weekdays)}"
    )
    shortened: str = descriptor.transform_verbosity(text, use_verbose_format=False)
    return shortened


def describe_cron(cron: str) -> str:
    """The expression in words, by cron-descriptor: "at 02:00", "every 15 minutes, Monday
    through Friday", "at 02:00, between day 1 and 7 of the month, or on Monday".

    A maintained library rather than our own describer, with one correction: when both day
    fields are restricted cron runs on either (OR), and the sentence says so in every case.
    Lower-case first, as it is also used inside sentences (pages capitalise it).
    """
    fields = cron.split()
    if len(fields) != 5:
        return f'cron "{cron}"'  # not valid (stored before validation existed): say it as is
    try:
        text = _describe_with_library(fields)
    except (FormatError, MissingFieldError, CroniterError, ValueError, IndexError, KeyError):
        return f'cron "{cron}"'
    return text[:1].lower() + text[1:]


@dataclass(frozen=True)
class Preview:
    cron: str
    timezone: str
    description: str
    next_runs: list[datetime] = field(default_factory=list)


def preview(
    cron: str, tz: str | None = None, *, count: int = 5, after: datetime | None = None
) -> Preview:
    """Validate and explain an expression; raises ValidationError keyed by `cron`/`timezone`."""
    errors: dict[str, list[str]] = {}
    try:
        cron = validate_cron(cron)
    except ValidationError as exc:
        errors["cron"] = exc.messages
    tz = tz or settings.TIME_ZONE
    try:
        tz = validate_timezone(tz)
    except ValidationError as exc:
        errors["timezone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return Preview(cron, tz, describe_cron(cron), next_runs(cron, tz, after=after, count=count))
