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

    def message(self, text: str) -> None:
        if text and text not in self.messages:
            self.messages.append(text)

    def as_dict(self) -> dict[str, Any]:
        return {
            "registered": self.registered,
            "already_registered": self.already_registered,
            "unregistered": self.unregistered,
            "not_registered": self.not_registered,
            "failed": self.failed,
            "messages": list(self.messages),
        }


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


def _holds(registered: dict[Form, list[str]], form: Form, aoc: str | None) -> bool:
    combos = registered.get(form)
    if not combos:
        return False
    return aoc is None or aoc in combos


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
    report = MarkReport()
    batches = _batches(targets, batch_size)
    for number, (period, org_units) in enumerate(batches):
        if progress is not None:
            progress(number, len(batches))
        forms = [(ou, period) for ou in org_units]
        try:
            before = read_registrations(
                client, data_set=data_set, periods=[period], org_units=org_units
            )
        except Dhis2Error as exc:
            report.message(f"Could not read the registrations of period {period}: {exc}")
            for form in forms:
                report.record(form, "failed")
            continue
        todo = []
        for form in forms:
            if _holds(before, form, attribute_option_combo):
                report.record(form, "already_registered")
            else:
                todo.append(form)
        if not todo:
            continue
        body = []
        for org_unit, pe in todo:
            item: dict[str, Any] = {"dataSet": data_set, "period": pe, "organisationUnit": org_unit}
            if attribute_option_combo:
                item["attributeOptionCombo"] = attribute_option_combo
            item["completed"] = True
            body.append(item)
        _post_and_judge(
            client,
            report,
            data_set=data_set,
            period=period,
            todo=todo,
            body=body,
            strategy="CREATE_AND_UPDATE",
            done_outcome="registered",
            aoc=attribute_option_combo,
        )
    if progress is not None:
        progress(len(batches), len(batches))
    return report


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
    report = MarkReport()
    batches = _batches(targets, batch_size)
    for number, (period, org_units) in enumerate(batches):
        if progress is not None:
            progress(number, len(batches))
        forms = [(ou, period) for ou in org_units]
        try:
            before = read_registrations(
                client, data_set=data_set, periods=[period], org_units=org_units
            )
        except Dhis2Error as exc:
            report.message(f"Could not read the registrations of period {period}: {exc}")
            for form in forms:
                report.record(form, "failed")
            continue
        todo = []
        body = []
        for form in forms:
            combos = before.get(form)
            if not combos:
                report.record(form, "not_registered")
                continue
            todo.append(form)
            for aoc in combos:
                item: dict[str, Any] = {
                    "dataSet": data_set,
                    "period": form[1],
                    "organisationUnit": form[0],
                }
                if aoc:
                    item["attributeOptionCombo"] = aoc
                body.append(item)
        if not todo:
            continue
        _post_and_judge(
            client,
            report,
            data_set=data_set,
            period=period,
            todo=todo,
            body=body,
            strategy="DELETE",
            done_outcome="unregistered",
            aoc=None,
        )
    if progress is not None:
        progress(len(batches), len(batches))
    return report


def _post_and_judge(
    client: Client,
    report: MarkReport,
    *,
    data_set: str,
    period: str,
    todo: list[Form],
    body: list[dict[str, Any]],
    strategy: str,
    done_outcome: str,
    aoc: str | None,
) -> None:
    try:
        response = client.post_json(
            "completeDataSetRegistrations",
            {"completeDataSetRegistrations": body},
            params={"importStrategy": strategy},
        )
        summary = parse_data_import_summary(response.body)
    except Dhis2Error as exc:
        report.message(f"DHIS2 refused the registrations of period {period}: {exc}")
        for form in todo:
            report.record(form, "failed")
        return
    _messages(report, summary)
    done = summary.deleted if strategy == "DELETE" else summary.imported + summary.updated
    if done >= len(body) and summary.status != "ERROR":
        for form in todo:
            report.record(form, done_outcome)
        return
    try:  # the counts do not cover every form: ask DHIS2 what it holds now
        after = read_registrations(
            client, data_set=data_set, periods=[period], org_units=[ou for ou, _ in todo]
        )
    except Dhis2Error as exc:
        report.message(f"Could not check the registrations of period {period}: {exc}")
        for form in todo:
            report.record(form, "failed")
        return
    for form in todo:
        held = _holds(after, form, aoc)
        succeeded = held if strategy != "DELETE" else not held
        report.record(form, done_outcome if succeeded else "failed")
