"""Reading events page by page: every envelope and pager shape of DHIS2 2.36-2.42."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
import respx

from dhis2.client import Client
from dhis2.version import Version
from tracker.read import (
    LEGACY,
    TRACKER,
    EventQuery,
    events_api_for,
    iter_event_pages,
    normalise_event,
    page_is_last,
    page_items,
)

from .conftest import API, info, load

PROGRAM, OU = "lxAQ7Zs9VYR", "DiszpKrYNg8"


def _event(uid: str) -> dict:
    return {"event": uid, "program": PROGRAM, "orgUnit": OU, "dataValues": []}


@pytest.mark.parametrize(
    ("version", "api"),
    [("2.36.13.2", LEGACY), ("2.38.7", LEGACY), ("2.39.5", TRACKER), ("2.42.0", TRACKER)],
)
def test_api_per_version(version: str, api: str) -> None:
    assert events_api_for(Version(version)) == api


@pytest.mark.parametrize(
    ("name", "api", "uids"),
    [
        (
            "tracker-events-get-instances-lt-2.41.android-fixture.json",
            TRACKER,
            ["single1", "single2"],
        ),
        (
            "tracker-events-get-pager-events-2.41.android-fixture.json",
            TRACKER,
            ["single1", "single2"],
        ),
        ("tracker-events-get-pager.docs-2.41.json", TRACKER, ["A7rzcnZTe2T"]),
        ("events-legacy-get-pager.android-fixture.json", LEGACY, ["single1", "single2"]),
    ],
)
def test_items_of_every_real_envelope(name: str, api: str, uids: list[str]) -> None:
    assert [e["event"] for e in page_items(load(name), api)] == uids


@pytest.mark.parametrize(
    ("name", "page_size", "last"),
    [
        # 2.36-2.40 flat pager without any last-page signal: 2 < 50 events ends it.
        ("tracker-events-get-instances-lt-2.41.android-fixture.json", 50, True),
        ("tracker-events-get-instances-lt-2.41.android-fixture.json", 2, False),
        # 2.41 pager + flat copies, no links: the same rule.
        ("tracker-events-get-pager-events-2.41.android-fixture.json", 50, True),
        ("tracker-events-get-pager-events-2.41.android-fixture.json", 2, False),
        # legacy full pager (totalPages=true): page 1 of pageCount 1.
        ("events-legacy-get-pager.android-fixture.json", 2, True),
    ],
)
def test_last_page_of_real_samples(name: str, page_size: int, last: bool) -> None:
    body = load(name)
    count = len(page_items(body, TRACKER))
    assert (
        page_is_last(
            body, next_link_reliable=False, requested_page=1, page_size=page_size, count=count
        )
        is last
    )


def test_legacy_event_normalised_to_tracker_names() -> None:
    raw = load("events-legacy-get-pager.android-fixture.json")["events"][0]
    event = normalise_event(raw)
    assert event["occurredAt"] == "2018-02-27T00:00:00.000"
    assert event["scheduledAt"] == "2017-01-28T00:00:00.000"
    assert event["updatedAt"] == "2019-01-05T22:26:39.094"
    assert event["completedAt"] == "2016-02-27T00:00:00.000"
    assert "eventDate" not in event and "lastUpdated" not in event
    assert event["dataValues"][0] == {
        "updatedAt": "2015-02-28T12:05:00.222",
        "createdAt": "2015-02-28T12:05:00.333",
        "dataElement": "g9eOBujte1U",
        "value": "1",
        "providedElsewhere": True,
        "storedBy": "storer",
    }


def _pages(client: Client, query: EventQuery, page_size: int) -> list[list[str]]:
    return [
        [e["event"] for e in p.events] for p in iter_event_pages(client, query, page_size=page_size)
    ]


def _serve(version: str, path: str, *pages: dict[str, Any]) -> respx.Route:
    """A DHIS2 of `version` whose `path` answers `pages`, one per request, in turn."""
    respx.get(f"{API}/system/info").respond(json=info(version))
    return respx.get(f"{API}/{path}").mock(
        side_effect=[httpx.Response(200, json=page) for page in pages]
    )


@respx.mock
def test_tracker_2_40_flat_pager_reads_until_a_short_page(client: Client) -> None:
    route = _serve(
        "2.40.4.1",
        "tracker/events",
        {"page": 1, "pageSize": 2, "instances": [_event("a1"), _event("a2")]},
        {"page": 2, "pageSize": 2, "instances": [_event("a3"), _event("a4")]},
        {"page": 3, "pageSize": 2, "instances": [_event("a5")]},
    )
    query = EventQuery(
        program=PROGRAM, org_units=(OU,), start_date=date(2024, 1, 1), end_date=date(2024, 6, 30)
    )
    assert _pages(client, query, 2) == [["a1", "a2"], ["a3", "a4"], ["a5"]]
    params = route.calls[0].request.url.params
    assert params["ouMode"] == "DESCENDANTS" and "orgUnitMode" not in params
    assert params["occurredAfter"] == "2024-01-01"
    assert params["occurredBefore"] == "2024-06-30T23:59:59.999"  # a Date: midnight otherwise
    assert [c.request.url.params["page"] for c in route.calls] == ["1", "2", "3"]


@respx.mock
def test_tracker_2_41_uses_org_unit_mode_and_events_key(client: Client) -> None:
    full = {"pager": {"page": 1, "pageSize": 2}, "page": 1, "pageSize": 2}
    route = _serve(
        "2.41.0.1",
        "tracker/events",
        {**full, "events": [_event("b1"), _event("b2")]},
        {**full, "events": []},
    )
    query = EventQuery(program=PROGRAM, org_units=(OU,), ou_mode="CHILDREN")
    assert _pages(client, query, 2) == [["b1", "b2"], []]
    params = route.calls[0].request.url.params
    assert params["orgUnitMode"] == "CHILDREN" and "ouMode" not in params


@respx.mock
def test_tracker_2_42_trusts_next_page(client: Client) -> None:
    route = _serve(
        "2.42.0",
        "tracker/events",
        {
            "pager": {"page": 1, "pageSize": 2, "nextPage": "http://localhost:8080/x"},
            "events": [_event("c1"), _event("c2")],
        },
        {
            "pager": {"page": 2, "pageSize": 2, "prevPage": "http://localhost:8080/x"},
            "events": [_event("c3"), _event("c4")],
        },
    )
    # A full second page without nextPage is the last one: no third request.
    assert _pages(client, EventQuery(program=PROGRAM, org_units=(OU,)), 2) == [
        ["c1", "c2"],
        ["c3", "c4"],
    ]
    assert route.call_count == 2
    assert all(c.request.url.host == "dhis.example.org" for c in route.calls)


@respx.mock
def test_legacy_2_36_clamped_page_is_not_taken_for_the_last(client: Client) -> None:
    pager = {"page": 1, "total": 0, "pageSize": 2, "pageCount": 0}  # page clamped to 1
    route = _serve(
        "2.36.13.2",
        "events",
        {"pager": pager, "events": [_event("d1"), _event("d2")]},
        {"pager": pager, "events": [_event("d3")]},
    )
    query = EventQuery(program=PROGRAM, org_units=(OU,), end_date=date(2024, 6, 30))
    assert _pages(client, query, 2) == [["d1", "d2"], ["d3"]]
    params = route.calls[1].request.url.params
    assert params["page"] == "2" and params["ouMode"] == "DESCENDANTS"
    assert params["endDate"] == "2024-06-30"  # inclusive on the legacy store


@respx.mock
def test_legacy_2_38_slim_pager_is_last_page(client: Client) -> None:
    route = _serve(
        "2.38.7",
        "events",
        {
            "pager": {"page": 1, "pageSize": 2, "isLastPage": False},
            "events": [_event("e1"), _event("e2")],
        },
        {
            "pager": {"page": 2, "pageSize": 2, "isLastPage": True},
            "events": [_event("e3"), _event("e4")],
        },
    )
    assert _pages(client, EventQuery(program=PROGRAM, org_units=(OU,)), 2) == [
        ["e1", "e2"],
        ["e3", "e4"],
    ]
    assert route.call_count == 2


@respx.mock
def test_overlapping_org_units_yield_each_event_once(client: Client) -> None:
    respx.get(f"{API}/system/info").respond(json=info("2.40.4.1"))

    def answer(request: httpx.Request) -> httpx.Response:
        ou = request.url.params["orgUnit"]
        uids = ["f1", "f2"] if ou == "ParentOU001" else ["f2", "f3"]
        return httpx.Response(
            200, json={"page": 1, "pageSize": 50, "instances": [_event(u) for u in uids]}
        )

    respx.get(f"{API}/tracker/events").mock(side_effect=answer)
    query = EventQuery(program=PROGRAM, org_units=("ParentOU001", "ChildOU0001"))
    pages = list(iter_event_pages(client, query, page_size=50))
    assert [[e["event"] for e in p.events] for p in pages] == [["f1", "f2"], ["f3"]]
    assert pages[1].skipped_duplicates == 1


@respx.mock
def test_accessible_mode_sends_no_org_unit(client: Client) -> None:
    respx.get(f"{API}/system/info").respond(json=info("2.41.0.1"))
    route = respx.get(f"{API}/tracker/events").respond(
        json={"pager": {"page": 1, "pageSize": 50}, "page": 1, "pageSize": 50, "events": []}
    )
    assert _pages(client, EventQuery(program=PROGRAM, ou_mode="ACCESSIBLE"), 50) == [[]]
    params = route.calls[0].request.url.params
    assert "orgUnit" not in params and params["orgUnitMode"] == "ACCESSIBLE"
