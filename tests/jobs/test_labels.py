"""Run figures and periods in words."""

from __future__ import annotations

import pytest

from jobs.labels import humanise, run_summary, stat_label, stat_rows
from jobs.templatetags.ui import period_text


@pytest.mark.parametrize(
    ("key", "kind", "label"),
    [
        ("fetched", "transfer", "Values read from the source"),
        ("fetched", "event_transfer", "Events read from the source"),
        ("skipped_chunks", "transfer", "Chunks left out after failing"),
        ("fetch_requests", "transfer", "Source requests"),
        ("objects compared", "metadata_assessment", "Objects compared"),
        ("some_new_counter", "transfer", "Some new counter"),  # unknown: humanised
    ],
)
def test_stat_labels(key: str, kind: str, label: str) -> None:
    assert stat_label(key, kind) == label


def test_humanise_and_rows() -> None:
    assert humanise("held_back_values") == "Held back values"
    rows = stat_rows({"sent": 1234, "splits": 0, "average_compliance": 87.25, "detail": []})
    assert [(r.key, r.shown) for r in rows] == [("sent", "1,234"), ("average_compliance", "87.2%")]
    assert [r.shown for r in stat_rows({"sent": 0})] == ["0"]  # all zero: the zeros show


def test_summary_names_the_three_largest_causes_and_the_rest() -> None:
    stats = {"imported": 10, "updated": 0, "conflicts": 20}
    causes = [(8, "a"), (5, "b"), (4, "c"), (3, "d")]
    assert run_summary("transfer", stats, causes) == (
        "10 values imported, 20 refused by the destination: "
        "8 because a; 5 because b; 4 because c; 3 for other reasons."
    )
    assert run_summary("transfer", {}) == ""
    assert run_summary("completeness_mark", {"registered": 1, "failed": 2}) == (
        "1 form marked complete, 2 failed."
    )


def test_summary_counts_a_refused_value_once() -> None:
    """DHIS2 counts every value it refused among the ignored ones as well: the sentence
    must not say "139 ignored, 139 refused" about the same 139 values."""
    stats = {"fetched": 2303, "sent": 2303, "imported": 2164, "ignored": 139, "conflicts": 139}
    causes = [
        (70, "org unit Lakeside CHC does not exist there"),
        (69, "data element ANC 5th visit does not exist there"),
    ]
    assert run_summary("transfer", stats, causes) == (
        "2,164 values imported, 139 refused by the destination: "
        "70 because org unit Lakeside CHC does not exist there; "
        "69 because data element ANC 5th visit does not exist there."
    )
    # values ignored for another reason than a conflict are still said, once
    stats = {"imported": 10, "updated": 5, "ignored": 7, "conflicts": 4}
    assert run_summary("transfer", stats) == (
        "15 values imported (10 new, 5 updated), 3 ignored, 4 refused by the destination."
    )
    # an event the destination refused is an error and an ignored event too
    stats = {"fetched": 40, "sent": 40, "created": 38, "ignored": 2, "errors": 2}
    assert run_summary("event_transfer", stats) == (
        "38 events imported, 2 refused by the destination."
    )


def test_summary_of_a_second_run_and_of_a_dry_run() -> None:
    """Running a transfer again only updates (nothing new), and a dry run says what the
    destination would have done, not that it did it."""
    again = {"fetched": 2303, "sent": 2303, "updated": 2164, "ignored": 139, "conflicts": 139}
    causes = [(95, "data element Facility remarks does not exist there")]
    assert run_summary("transfer", again, causes) == (
        "2,164 values updated, none new, 139 refused by the destination: "
        "95 because data element Facility remarks does not exist there."
    )
    first = {"fetched": 2303, "sent": 2303, "imported": 2164, "ignored": 139, "conflicts": 139}
    assert run_summary("transfer", first, causes, dry_run=True) == (
        "Dry run: 2,164 values would be imported, 139 refused by the destination: "
        "95 because data element Facility remarks does not exist there."
    )
    assert run_summary("event_transfer", {"fetched": 3, "updated": 3}, dry_run=True) == (
        "Dry run: 3 events would be updated, none new."
    )


def test_summary_of_a_metadata_assessment_counts_every_match_to_review() -> None:
    stats = {
        "objects compared": 110, "matched": 101, "matched_by_code": 1, "matched_by_name": 4,
        "suggested": 0, "conflict": 2, "missing": 2,
    }  # fmt: skip
    assert run_summary("metadata_assessment", stats) == (
        "110 objects compared: 2 missing on the destination, 5 matches to review, "
        "2 matched but different."
    )
    one = {"objects compared": 3, "matched": 2, "suggested": 1}
    assert run_summary("metadata_assessment", one) == (
        "3 objects compared: 0 missing on the destination, 1 match to review."
    )


@pytest.mark.parametrize(
    ("period", "words"),
    [
        ("202501", "January 2025"),
        ("2025W5", "Week 5 2025"),
        ("2025BiW3", "Bi-week 3 2025"),
        ("20250105", "5 January 2025"),
        ("2025Q1", "January\u2013March 2025"),
        ("2024April", "April 2024\u2013March 2025"),
        ("2025", "2025"),
        ("not-a-period", "not-a-period"),
    ],
)
def test_period_text(period: str, words: str) -> None:
    assert period_text(period) == words
