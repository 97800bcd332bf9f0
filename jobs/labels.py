"""Words for a run's figures, so the run page reads "Values read from the source: 2,164"
instead of `fetched 2164`.

One table, `STAT_LABELS`, names every statistic key any operation records (the keys are the
engines' `STAT_KEYS` and the task modules' additions); a key means the same thing in every
operation, only the thing counted differs (values for an aggregate transfer, events for an event
transfer), so a label may hold `{items}`, filled from `ITEMS` by the run's kind. An unknown key
(a new engine figure) still reads as words: `humanise("skipped_chunks")` is "Skipped chunks".

`run_summary()` writes the sentence at the top of a run page from the same figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.text import capfirst

#: What one unit of a run's main figures is, by run kind.
ITEMS: dict[str, str] = {
    "transfer": "values",
    "event_transfer": "events",
    "metadata_assessment": "objects",
    "metadata_apply": "objects",
    "completeness_assessment": "forms",
    "completeness_mark": "forms",
    "connection_check": "instances",
}

#: key -> label. `{items}` is the run's unit (`ITEMS`); labels say what was counted.
STAT_LABELS: dict[str, str] = {
    # reading and sending
    "fetched": "{items} read from the source",
    "fetch_requests": "Source requests",
    "requests": "Requests to DHIS2",
    "sent": "{items} sent to the destination",
    "chunks": "Chunks sent",
    "batches": "Batches sent",
    "retries": "Requests retried",
    "splits": "Chunks split after a failure",
    "skipped_chunks": "Chunks left out after failing",
    "skipped_values": "Values in chunks left out",
    "skipped_batches": "Batches left out after failing",
    "skipped_events": "Events in batches left out",
    "jobs_polled": "Import job status checks",
    "duplicates": "Duplicate values dropped",
    # what the destination did
    "imported": "{items} imported (new)",
    "created": "{items} created",
    "updated": "{items} updated",
    "ignored": "{items} ignored by the destination",
    "deleted": "{items} deleted",
    "deletions_skipped": "Deletions not propagated",
    "conflicts": "Values refused (conflicts)",
    "errors": "{items} refused (errors)",
    "failed": "{items} that failed",
    # mapping and gating
    "unmapped": "Values without a mapping row",
    "mapped_by_profile": "Values mapped by the profile's mappings",
    "held_back_rows": "Forms held back below the minimum completeness",
    "held_back_values": "Values held back below the minimum completeness",
    "preflight_problems": "Problems found before sending",
    "completed_registrations": "Forms marked complete",
    # completeness
    "assessed": "Forms assessed",
    "compliant": "Forms meeting the threshold",
    "non_compliant": "Forms below the threshold",
    "no_data": "Forms with no data",
    "average_compliance": "Average completeness",
    "registered": "Forms marked complete",
    "already_registered": "Forms already marked complete",
    "unregistered": "Forms un-marked",
    "not_registered": "Forms that were not marked",
    "rows": "Rows stored",
    # metadata
    "objects compared": "Objects compared",
    "matched": "Same UID on both sides",
    "matched_by_code": "Matched by code",
    "matched_by_name": "Matched by name",
    "suggested": "Suggested matches to review",
    "conflict": "Matched but different",
    "missing": "Missing on the destination",
    "objects to send": "Objects to send",
    "validation errors": "Validation errors",
    "commit errors": "Import errors",
    # tracker and connections
    "source_api": "Source events API",
    "destination_api": "Destination events API",
    "checked": "Instances checked",
}

#: Keys whose value is a percentage.
PERCENT_KEYS = frozenset({"average_compliance"})


def humanise(key: str) -> str:
    """`skipped_chunks` -> "Skipped chunks": the fallback label of a key nobody named."""
    words = key.replace("_", " ").replace("-", " ").strip()
    return capfirst(words) or key


def stat_label(key: str, kind: str = "") -> str:
    label = STAT_LABELS.get(key)
    if label is None:
        return humanise(key)
    label = label.replace("{items}", ITEMS.get(kind, "items"))
    return capfirst(label)


@dataclass(frozen=True)
class StatRow:
    key: str
    label: str
    value: Any
    shown: str


def _shown(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        text = f"{value:,.1f}"
        return f"{text}%" if key in PERCENT_KEYS else text
    return str(value)


def stat_rows(stats: dict[str, Any], kind: str = "") -> list[StatRow]:
    """The run's scalar figures, labelled, in the engine's order (lists and tables such as a
    transfer's unmapped values are shown in sections of their own). Zero counters of a
    transfer that did not use a feature (no splits, no held back forms) are left out so the
    table shows what happened; an all-zero run still shows its zeros."""
    scalars = [(k, v) for k, v in stats.items() if not isinstance(v, list | dict)]
    shown = [(k, v) for k, v in scalars if v not in (0, None, "")] or scalars
    return [StatRow(k, stat_label(k, kind), v, _shown(k, v)) for k, v in shown]


def _n(stats: dict[str, Any], key: str) -> int:
    value = stats.get(key) or 0
    return value if isinstance(value, int) else 0


def _count(n: int, word: str) -> str:
    """Count and noun: "2 values", "1 value", and "1 match" for a plural in -ches."""
    if n == 1:
        word = word.removesuffix("es") if word.endswith("ches") else word.removesuffix("s")
    return f"{n:,} {word}"


def _stored_phrase(stats: dict[str, Any], items: str, *, dry_run: bool) -> str:
    """What the destination stored: "2,164 values imported (2,000 new, 164 updated)"; a run
    that only updated says so ("2,164 values updated, none new": a second run changes
    nothing)."""
    new = _n(stats, "imported") + _n(stats, "created")
    updated = _n(stats, "updated")
    would = "would be " if dry_run else ""
    if updated and not new:
        return f"{_count(updated, items)} {would}updated, none new"
    phrase = f"{_count(new + updated, items)} {would}imported"
    if new and updated:
        phrase += f" ({new:,} new, {updated:,} updated)"
    return phrase


def _refused_phrase(refused: int, causes: Sequence[tuple[int, str]]) -> str:
    """What the destination refused: "139 refused by the destination: 95 because …; 44
    because …", the three largest causes named and the rest counted together."""
    phrase = f"{refused:,} refused by the destination"
    if causes:
        named = [f"{n:,} because {cause}" for n, cause in causes[:3]]
        rest = refused - sum(n for n, _ in causes[:3])
        if len(causes) > 3 and rest > 0:
            named.append(f"{rest:,} for other reasons")
        phrase += ": " + "; ".join(named)
    return phrase


def _sending_summary(
    kind: str, stats: dict[str, Any], causes: Sequence[tuple[int, str]], *, dry_run: bool
) -> str:
    """The sentence of a run that sent items to a destination (transfers, metadata apply)."""
    items = ITEMS.get(kind, "items")
    stored = _n(stats, "imported") + _n(stats, "created") + _n(stats, "updated")
    refused = _n(stats, "conflicts") + _n(stats, "errors")
    if not stats or not (stored or refused or _n(stats, "fetched") or _n(stats, "sent")):
        return ""
    parts = [_stored_phrase(stats, items, dry_run=dry_run)]
    # DHIS2 counts the values it refused among the ignored ones too: only the ignored
    # values beyond those refused are news, so every value is counted once.
    ignored_otherwise = _n(stats, "ignored") - refused
    if ignored_otherwise > 0:
        parts.append(f"{ignored_otherwise:,} ignored")
    if refused:
        parts.append(_refused_phrase(refused, causes))
    elif _n(stats, "fetched") and not stored and kind != "metadata_apply":
        parts = [f"{_count(_n(stats, 'fetched'), items)} read, none imported"]
    sentence = ", ".join(parts)
    if _n(stats, "held_back_rows"):
        sentence += (
            f"; {_count(_n(stats, 'held_back_rows'), 'forms')} held back below the "
            "minimum completeness"
        )
    return ("Dry run: " if dry_run else "") + sentence + "."


def run_summary(
    kind: str,
    stats: dict[str, Any],
    causes: Sequence[tuple[int, str]] = (),
    *,
    dry_run: bool = False,
) -> str:
    """One sentence saying what a finished run did, from its figures; `causes` are the
    conflict groups as (count, cause), largest first, of which the first three are named.
    A dry run (`dry_run`, the run's parameter) says what the destination would have done.
    Empty when the run recorded nothing to summarise."""
    if kind in ("transfer", "event_transfer", "metadata_apply"):
        return _sending_summary(kind, stats, causes, dry_run=dry_run)
    if kind == "completeness_assessment" and "assessed" in stats:
        return (
            f"{_count(_n(stats, 'assessed'), 'forms')} assessed: {_n(stats, 'compliant'):,} "
            f"meet the threshold, {_n(stats, 'non_compliant'):,} are below it and "
            f"{_n(stats, 'no_data'):,} have no data."
        )
    if kind == "completeness_mark" and ("registered" in stats or "unregistered" in stats):
        sentence = f"{_count(_n(stats, 'registered'), 'forms')} marked complete"
        if _n(stats, "unregistered"):
            sentence += f", {_n(stats, 'unregistered'):,} un-marked"
        if _n(stats, "already_registered"):
            sentence += f", {_n(stats, 'already_registered'):,} already complete"
        if _n(stats, "failed"):
            sentence += f", {_n(stats, 'failed'):,} failed"
        return sentence + "."
    if kind == "metadata_assessment" and "objects compared" in stats:
        # A person reviews every match not made by UID: by code, by name or suggested.
        review = sum(_n(stats, k) for k in ("matched_by_code", "matched_by_name", "suggested"))
        sentence = (
            f"{_count(_n(stats, 'objects compared'), 'objects')} compared: "
            f"{_n(stats, 'missing'):,} missing on the destination, "
            f"{_count(review, 'matches')} to review"
        )
        if _n(stats, "conflict"):
            sentence += f", {_n(stats, 'conflict'):,} matched but different"
        return sentence + "."
    if kind == "connection_check" and "checked" in stats:
        return (
            f"{_count(_n(stats, 'checked'), 'instances')} checked, {_n(stats, 'failed'):,} failed."
        )
    return ""
