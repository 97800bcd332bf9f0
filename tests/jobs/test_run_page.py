"""The run page in words: labelled figures, the summary sentence, conflicts grouped by cause
with names instead of UIDs, server-side pagination of the rows; the poll's labelled stats."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.contrib.auth.models import User

from jobs.models import Run
from tests.conftest import page_as
from tests.simulated import SimulatedProfile, fresh_cache, sim_fixture  # noqa: F401 (fixtures)
from transfers.models import Transfer, TransferConflict

DATA_SET = "qfltXPJW0EB"  # "RCH Monthly" in the demo data sets


pytestmark = pytest.mark.usefixtures("fresh_cache")


def _only_on_source(sim: SimulatedProfile, kind: str) -> str:
    return sorted(set(sim.names("source", kind)) - set(sim.names("destination", kind)))[0]


@pytest.fixture
def conflicted(sim: SimulatedProfile) -> tuple[Run, list[tuple[str, str, str, str]]]:
    """A transfer run the destination refused 71 values of, for three causes:
    60 non-numeric values of a shared data element, 7 values of an org unit only the source
    has, 4 values of a data element only the source has."""
    transfer = Transfer.objects.create(
        name="RCH to national",
        profile=sim.profile,
        data_set=DATA_SET,
        periods=["202401"],
        org_units=["DhdSa1PzDOh"],
    )
    shared_de = sorted(
        set(sim.names("source", "dataElements")) & set(sim.names("destination", "dataElements"))
    )[0]
    lost_ou = _only_on_source(sim, "organisationUnits")
    lost_de = _only_on_source(sim, "dataElements")
    facility = "DhdSa1PzDOh"
    rows = (
        [
            (
                "E7619",
                f"Value must match data element's `{shared_de}` type constraints: "
                "Data value is not numeric",
                shared_de,
                facility,
            )
        ]
        * 60
        + [("E7603", f"Org unit not found or not accessible: `{lost_ou}`", shared_de, lost_ou)] * 7
        + [
            (
                "E7610",
                f"Data element not found or not accessible: `{lost_de}`",
                lost_de,
                facility,
            )
        ]
        * 4
    )
    run = Run.objects.create(
        kind="transfer",
        title="Transfer: RCH to national",
        trigger="web",
        status="warning",
        params={"transfer_id": transfer.pk},
        stats={
            "fetched": 2235,
            "sent": 2235,
            "imported": 2000,
            "updated": 164,
            "conflicts": len(rows),
            "skipped_chunks": 0,
            "fetch_requests": 4,
            "brand_new_figure": 3,
        },
    )
    TransferConflict.objects.bulk_create(
        TransferConflict(
            run=run,
            error_code=code,
            message=message,
            data_element=de,
            org_unit=ou,
            period="202401",
            value=str(i),
        )
        for i, (code, message, de, ou) in enumerate(rows)
    )
    return run, rows


def _group_rows(page: str) -> list[tuple[str, int]]:
    return [
        (key, int(count))
        for key, count in re.findall(r'data-group="(\w+)"[^>]*>\s*<td class="num">(\d+)</td>', page)
    ]


def _conflict_rows(page: str) -> int:
    section = page.split('id="conflict-rows"', 1)[1].split("</details>", 1)[0]
    return section.count("<tr><td><code")


def test_summary_sentence_and_groups(bob: User, sim: SimulatedProfile, conflicted) -> None:
    run, rows = conflicted
    expected = Counter((code, message) for code, message, _, _ in rows).most_common()
    lost_ou = rows[60][3]
    ou_name = sim.names("source", "organisationUnits")[lost_ou]
    de_name = sim.names("source", "dataElements")[rows[-1][2]]
    shared_name = sim.names("destination", "dataElements")[rows[0][2]]

    page = page_as(bob).get(f"/runs/{run.pk}/").content.decode()

    summary = re.search(r'<p class="summary" id="run-summary">(.*?)</p>', page, re.S).group(1)
    assert summary.startswith("2,164 values imported (2,000 new, 164 updated), ")
    assert "71 refused by the destination: 60 because value must match data element" in summary
    assert shared_name in summary
    assert f"7 because org unit {ou_name} does not exist there" in summary
    assert f"4 because data element {de_name} does not exist there" in summary

    groups = _group_rows(page)
    assert [count for _, count in groups] == [n for _, n in expected] == [60, 7, 4]
    # Names, not UIDs: a UID is only in a hover title, never the text a person reads.
    assert f">{lost_ou}<" not in page and f'title="UID {lost_ou}">{ou_name}<' in page
    assert f">{DATA_SET}<" not in page
    assert f"/runs/{run.pk}/conflicts.csv" in page


def test_conflict_rows_are_paginated_and_filtered_by_group(bob: User, conflicted) -> None:
    run, _ = conflicted
    client = page_as(bob)
    first = client.get(f"/runs/{run.pk}/").content.decode()
    assert _conflict_rows(first) == 50
    assert "Page 1 of 2" in first
    assert _conflict_rows(client.get(f"/runs/{run.pk}/?cpage=2").content.decode()) == 21

    key_of = dict(
        zip([n for _, n in _group_rows(first)], [k for k, _ in _group_rows(first)], strict=True)
    )
    big = client.get(f"/runs/{run.pk}/?group={key_of[60]}&cpage=2").content.decode()
    assert _conflict_rows(big) == 10  # 60 rows of that cause: 50 on page 1, 10 on page 2
    small = client.get(f"/runs/{run.pk}/?group={key_of[7]}").content.decode()
    assert _conflict_rows(small) == 7 and "Page 1 of" not in small
    assert f'data-group="{key_of[7]}" aria-current="true"' in small


def test_statistics_have_labels(bob: User, conflicted) -> None:
    run, _ = conflicted
    page = page_as(bob).get(f"/runs/{run.pk}/").content.decode()
    stats = page.split('id="run-stats"', 1)[1].split("</dl>", 1)[0]
    labels = re.findall(r"<dt[^>]*>(.*?)</dt>", stats)
    assert "Values read from the source" in labels
    assert "Source requests" in labels
    assert "Brand new figure" in labels  # a key nobody named still reads as words
    assert not any("_" in label for label in labels)
    assert "Chunks left out after failing" not in labels  # a zero that did not happen
    assert "<dd>2,235</dd>" in stats


def test_poll_sends_labelled_stats(bob: User, conflicted) -> None:
    run, _ = conflicted
    data = page_as(bob).get(f"/runs/{run.pk}/poll/").json()
    rows = {r["key"]: (r["label"], r["value"]) for r in data["stat_rows"]}
    assert rows["fetched"] == ("Values read from the source", "2,235")
    assert rows["imported"] == ("Values imported (new)", "2,000")
    assert data["active"] is False


def test_event_transfer_stats_count_events(bob: User) -> None:
    run = Run.objects.create(
        kind="event_transfer",
        trigger="web",
        status="succeeded",
        stats={"fetched": 12, "created": 10, "updated": 2, "errors": 0},
    )
    page = page_as(bob).get(f"/runs/{run.pk}/").content.decode()
    assert "Events read from the source" in page
    assert "12 events imported (10 new, 2 updated)." in page


def test_log_is_collapsible_and_open_while_running(bob: User) -> None:
    running = Run.objects.create(kind="connection_check", trigger="web", status="running")
    done = Run.objects.create(kind="connection_check", trigger="web", status="succeeded")
    assert (
        '<details id="run-log-box" open'
        in page_as(bob).get(f"/runs/{running.pk}/").content.decode()
    )
    page = page_as(bob).get(f"/runs/{done.pk}/").content.decode()
    assert '<details id="run-log-box" >' in page or '<details id="run-log-box">' in page
