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
