"""Marking forms complete or incomplete in DHIS2 (`/api/completeDataSetRegistrations`).

What DHIS2 does (`DefaultCompleteDataSetRegistrationExchangeService#batchImport`, the same
logic in core 2.36.0, 2.38.0, 2.40.0 and 2.42.0): a posted registration that already exists is
*updated* (`importCount.updated`), a new one *imported*; with `importStrategy=DELETE` an
existing one is deleted (`deleted`), a missing one ignored. `completed` defaults to true. The
answer is an ImportSummary, bare up to 2.37 and wrapped in a WebMessage from 2.38 (HTTP 409
when the status is ERROR, i.e. every registration was ignored; 2.42 always wraps): parsed by
`dhis2.imports.parse_data_import_summary`, which handles every envelope (reference §0, §6).

Because "updated" also covers an existing registration with `completed: false`, the import
counts cannot tell "already complete" from "completed now". So every batch first reads the
registrations of its forms: forms already complete are reported `already_registered` and not
posted. When the counts of a post do not account for every form (conflicts: a compulsory
field missing, an expired period, no write access), the batch is read again and each form is
judged by what DHIS2 now holds, so the per-form outcomes are facts, not guesses.

Un-completing uses the same endpoint with `importStrategy=DELETE` and each registration's own
attribute option combo (as read), in batches: `DELETE /api/completeDataSetRegistrations` takes
one org unit per request and needs the attribute combo as category + options (`cc`, `cp`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dhis2.errors import Dhis2Error
from dhis2.imports import DataImportSummary, parse_data_import_summary

from .assess import read_registrations

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = ["OUTCOMES", "MarkReport", "mark_complete", "mark_incomplete"]

OUTCOMES = ("registered", "already_registered", "unregistered", "not_registered", "failed")
Form = tuple[str, str]
"""(org unit, period)."""
Held = dict[Form, list[str]]
"""What DHIS2 holds: (org unit, period) -> the attribute option combos registered."""
Batch = tuple[list[Form], list[dict[str, Any]]]
"""The forms to post and the body that posts them."""


@dataclass
class MarkReport:
    """Counts per outcome, DHIS2's messages (deduplicated, in arrival order) and the outcome
    of every form, so the caller can update its stored rows."""

    registered: int = 0
    already_registered: int = 0
    unregistered: int = 0
    not_registered: int = 0
    failed: int = 0
    messages: list[str] = field(default_factory=list)
    outcomes: dict[Form, str] = field(default_factory=dict)

    def record(self, form: Form, outcome: str) -> None:
        self.outcomes[form] = outcome
        setattr(self, outcome, getattr(self, outcome) + 1)

    def record_all(self, forms: Iterable[Form], outcome: str) -> None:
        for form in forms:
            self.record(form, outcome)

    def message(self, text: str) -> None:
        if text and text not in self.messages:
            self.messages.append(text)

    def as_dict(self) -> dict[str, Any]:
        """The counts and the messages (the run's stats); the per-form outcomes stay out."""
        return {**{name: getattr(self, name) for name in OUTCOMES}, "messages": list(self.messages)}


def _batches(targets: Iterable[Form], size: int) -> list[tuple[str, list[str]]]:
    """(period, org units) batches: one period each, at most `size` org units (URL length)."""
    by_period: dict[str, list[str]] = {}
    for org_unit, period in dict.fromkeys(targets):
        by_period.setdefault(period, []).append(org_unit)
    out = []
    for period in sorted(by_period):
        units = by_period[period]
        for start in range(0, len(units), max(1, size)):
            out.append((period, units[start : start + size]))
    return out


def _messages(report: MarkReport, summary: DataImportSummary) -> None:
    for conflict in summary.conflicts:
        shown = f"{conflict.object}: {conflict.value}" if conflict.object else conflict.value
        report.message(shown)
    if summary.status == "ERROR" and summary.description:
        report.message(summary.description)


def _holds(registered: Held, form: Form, aoc: str | None) -> bool:
    combos = registered.get(form)
    if not combos:
        return False
    return aoc is None or aoc in combos


def _registration(data_set: str, form: Form, aoc: str | None) -> dict[str, Any]:
    """One registration as DHIS2 takes it; an empty combo is left out (DHIS2's default)."""
    org_unit, period = form
    item: dict[str, Any] = {"dataSet": data_set, "period": period, "organisationUnit": org_unit}
    if aoc:
        item["attributeOptionCombo"] = aoc
    return item


@dataclass(frozen=True)
class _Direction:
    """What tells marking from un-marking; the batch loop and the judging are shared."""

    strategy: str  # DHIS2's importStrategy
    done_outcome: str  # the outcome of a form the post changed
    aside_outcome: str  # the outcome of a form that needs nothing (not posted)
    aoc: str | None  # the combo whose registration counts when judging; None: any
    prepare: Callable[[list[Form], Held], Batch]  # a batch's forms and holdings -> the post


def mark_complete(
    client: Client,
    *,
    data_set: str,
    targets: Iterable[Form],
    attribute_option_combo: str | None = None,
    batch_size: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> MarkReport:
    """Register the forms `targets` as complete. Without `attribute_option_combo` DHIS2 uses
    the default combo, and a form complete in any combo counts as already registered.
    `progress(done, total)` runs before each batch (what it raises stops the marking)."""
    aoc = attribute_option_combo

    def prepare(forms: list[Form], before: Held) -> Batch:
        todo = [form for form in forms if not _holds(before, form, aoc)]
        return todo, [{**_registration(data_set, form, aoc), "completed": True} for form in todo]

    direction = _Direction("CREATE_AND_UPDATE", "registered", "already_registered", aoc, prepare)
    return _mark(client, data_set, targets, batch_size, progress, direction)


def mark_incomplete(
    client: Client,
    *,
    data_set: str,
    targets: Iterable[Form],
    batch_size: int = 100,
    progress: Callable[[int, int], None] | None = None,
) -> MarkReport:
    """Remove the completeness registrations of `targets` (every attribute option combo).
    Forms without one are reported `not_registered`."""

    def prepare(forms: list[Form], before: Held) -> Batch:
        todo = [form for form in forms if before.get(form)]  # every combo held is removed
        return todo, [_registration(data_set, form, aoc) for form in todo for aoc in before[form]]

    direction = _Direction("DELETE", "unregistered", "not_registered", None, prepare)
    return _mark(client, data_set, targets, batch_size, progress, direction)


def _mark(
    client: Client,
    data_set: str,
    targets: Iterable[Form],
    batch_size: int,
    progress: Callable[[int, int], None] | None,
    direction: _Direction,
) -> MarkReport:
    """The batch loop both directions share: read what DHIS2 holds for a batch's forms (so
    the outcomes are facts), let `prepare` say what to post, set the other forms aside, post
    and judge the answer."""
    report = MarkReport()
    batches = _batches(targets, batch_size)
    for number, (period, org_units) in enumerate(batches):
        if progress is not None:
            progress(number, len(batches))
        forms = [(ou, period) for ou in org_units]
        before = _read(client, report, data_set=data_set, period=period, forms=forms, verb="read")
        if before is None:
            continue
        todo, body = direction.prepare(forms, before)
        posted = set(todo)
        report.record_all((form for form in forms if form not in posted), direction.aside_outcome)
        if todo:
            _post_and_judge(client, report, data_set, period, todo, body, direction)
    if progress is not None:
        progress(len(batches), len(batches))
    return report


def _read(
    client: Client, report: MarkReport, *, data_set: str, period: str, forms: list[Form], verb: str
) -> Held | None:
    """The registrations of `forms`, or None when DHIS2 could not say: then every one of
    them is recorded failed, since nothing can be claimed about them."""
    try:
        return read_registrations(
            client, data_set=data_set, periods=[period], org_units=[ou for ou, _ in forms]
        )
    except Dhis2Error as exc:
        report.message(f"Could not {verb} the registrations of period {period}: {exc}")
        report.record_all(forms, "failed")
        return None


def _post_and_judge(
    client: Client,
    report: MarkReport,
    data_set: str,
    period: str,
    todo: list[Form],
    body: list[dict[str, Any]],
    direction: _Direction,
) -> None:
    """Post one batch; when DHIS2's counts do not account for every form, judge each form
    by what DHIS2 holds afterwards instead of guessing from the counts."""
    try:
        response = client.post_json(
            "completeDataSetRegistrations",
            {"completeDataSetRegistrations": body},
            params={"importStrategy": direction.strategy},
        )
        summary = parse_data_import_summary(response.body)
    except Dhis2Error as exc:
        report.message(f"DHIS2 refused the registrations of period {period}: {exc}")
        report.record_all(todo, "failed")
        return
    _messages(report, summary)
    deleting = direction.strategy == "DELETE"
    done = summary.deleted if deleting else summary.imported + summary.updated
    if done >= len(body) and summary.status != "ERROR":
        report.record_all(todo, direction.done_outcome)
        return
    after = _read(client, report, data_set=data_set, period=period, forms=todo, verb="check")
    if after is None:
        return
    for form in todo:
        held = _holds(after, form, direction.aoc)
        succeeded = not held if deleting else held
        report.record(form, direction.done_outcome if succeeded else "failed")
