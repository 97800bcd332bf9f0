"""Template helpers that turn DHIS2 identifiers into words: `{% named uid names %}` shows a
UID's name (the UID on hover), `|period_label` writes a period as "January 2025" or
"Week 5 2025", `|stat_label:kind` names a run figure.

Views look the names up in one batch (`connections.names.names_for`) and pass the dict; a tag
that called DHIS2 itself would make one request per UID on a page."""

from __future__ import annotations

import re
from datetime import date

from django import template
from django.http import QueryDict
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from dhis2.periods import PeriodError, parse_period
from jobs.labels import stat_label as _stat_label

register = template.Library()

_DASH = "\u2013"  # en dash between the months of a span: "January to March 2025"

_WEEK_NUMBER = re.compile(r"(?:W|BiW)(\d+)$")
_WEEKDAY = {
    "WeeklyWednesday": "Wednesday",
    "WeeklyThursday": "Thursday",
    "WeeklyFriday": "Friday",
    "WeeklySaturday": "Saturday",
    "WeeklySunday": "Sunday",
}


def _month(day: date) -> str:
    return f"{day:%B}"


def period_text(period_id: str) -> str:
    """A DHIS2 period id in words, as DHIS2's own apps write it; an id that is not a valid
    period comes back unchanged (a page must show something, never fail)."""
    try:
        p = parse_period(str(period_id))
    except (PeriodError, ValueError, TypeError):
        return str(period_id)
    kind, start, end = p.period_type, p.start, p.end
    if kind == "Daily":
        return f"{start.day} {start:%B %Y}"
    if kind.startswith("Weekly") or kind == "BiWeekly":
        match = _WEEK_NUMBER.search(p.id)
        number = match.group(1) if match else "?"
        word = "Bi-week" if kind == "BiWeekly" else "Week"
        # The ISO year of a week can differ from its start date's year (2025W1 starts in
        # December 2024); the id's leading year is the one DHIS2 shows.
        text = f"{word} {number} {p.id[:4]}"
        return f"{text} (from {_WEEKDAY[kind]})" if kind in _WEEKDAY else text
    if kind == "Monthly":
        return f"{start:%B %Y}"
    if kind == "Yearly":
        return str(start.year)
    if start.year == end.year:
        return f"{_month(start)}{_DASH}{_month(end)} {start.year}"
    return f"{_month(start)} {start.year}{_DASH}{_month(end)} {end.year}"


@register.filter
def period_label(period_id: str) -> str:
    return period_text(period_id)


@register.filter
def stat_label(key: str, kind: str = "") -> str:
    return _stat_label(str(key), str(kind or ""))


@register.simple_tag
def named(uid: str | None, names: dict[str, str] | None = None) -> str:
    """The name of `uid` with the UID on hover (and a `<code>` UID when no name is known)."""
    if not uid:
        return ""
    name = (names or {}).get(uid)
    if not name or name == uid:
        return format_html('<code class="uid">{}</code>', uid)
    return format_html('<span class="named" title="UID {}">{}</span>', uid, name)


@register.filter
def name_of(uid: str | None, names: dict[str, str] | None) -> str:
    """Plain-text name (for attributes and sentences); the UID when unknown."""
    if not uid:
        return ""
    return (names or {}).get(uid) or uid


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int, param: str = "page", **extra: str) -> str:
    """`?...` with the page's query (search, filters) and `param` set to `number`, so paging a
    searched list keeps the search; `extra` sets further parameters (e.g. a conflict group)."""
    request = context.get("request")
    query = request.GET.copy() if request is not None else QueryDict(mutable=True)
    query[param] = str(number)
    for key, value in extra.items():
        if value in ("", None):
            query.pop(key, None)
        else:
            query[key] = str(value)
    return "?" + query.urlencode()


@register.filter
def relative_label(choice: str) -> str:
    """A relative period choice in words: `LAST_3_MONTHS` -> "Last 3 months"."""
    words = str(choice or "").replace("_", " ").lower().strip()
    return capfirst(words)


_UID_TOKEN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]{10}(?![A-Za-z0-9])")


def _named_html(value: object, names: dict[str, str]) -> SafeString:
    # Every piece is escaped by format_html (or is `named`'s output), so the joins are safe.
    if isinstance(value, dict):
        return mark_safe(  # noqa: S308
            "; ".join(
                format_html("{}: {}", str(k).replace("_", " "), _named_html(v, names))
                for k, v in value.items()
            )
        )
    if isinstance(value, list | tuple | set):
        return mark_safe(", ".join(_named_html(v, names) for v in value) or "none")  # noqa: S308
    text = "" if value is None else str(value)
    parts: list[str] = []
    end = 0
    for match in _UID_TOKEN.finditer(text):
        uid = match.group(0)
        if names.get(uid) and names[uid] != uid:
            parts += [format_html("{}", text[end : match.start()]), named(uid, names)]
            end = match.end()
    parts.append(format_html("{}", text[end:]))
    return mark_safe("".join(parts))  # noqa: S308


@register.filter
def with_names(value: object, names: dict[str, str] | None) -> SafeString:
    """`value` (a message, a list or a dict of lists, e.g. a metadata difference) as HTML with
    every UID that `names` knows written as its name, the UID on hover (as `{% named %}`)."""
    return _named_html(value, names or {})


def uids_in(value: object) -> set[str]:
    """The UID-shaped tokens in `value` (a string, or lists and dicts of them), for a view to
    look their names up before rendering `|with_names`."""
    if isinstance(value, dict):
        return set().union(*(uids_in(v) for v in value.values())) if value else set()
    if isinstance(value, list | tuple | set):
        return set().union(*(uids_in(v) for v in value)) if value else set()
    return set(_UID_TOKEN.findall("" if value is None else str(value)))
