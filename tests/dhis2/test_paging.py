"""Paging over metadata lists, paging=false, filters and repeated query parameters."""

from __future__ import annotations

import httpx
import pytest
import respx

from dhis2.client import Client, flt_eq, flt_in
from dhis2.errors import UnexpectedResponse
from dhis2.filters import flt, flt_ilike, flt_ne, join_fields

from .conftest import API, load

PAGE1 = "organisationUnits-list-page1-pager-2.40.truncated.json"
PAGE2 = "organisationUnits-list-page2-pager-2.40.truncated.json"


def test_iter_pages_follows_the_real_pager_across_two_pages(client: Client) -> None:
    page1, page2 = load(PAGE1), load(PAGE2)
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        first = mock.get("/organisationUnits", params__contains={"page": "1"}).respond(json=page1)
        second = mock.get("/organisationUnits", params__contains={"page": "2"}).respond(json=page2)
        items = list(client.iter_pages("organisationUnits", fields="id,name", page_size=1000))

    expected = [ou["id"] for ou in page1["organisationUnits"] + page2["organisationUnits"]]
    assert [ou["id"] for ou in items] == expected
    assert len(items) == 10
    assert items[0] == {"name": "Adonkia CHP", "id": "Rp268JB6Ne4"}
    assert items[-1]["id"] == "zQ2pFkzGtIg"
    assert first.call_count == 1 and second.call_count == 1

    request2 = second.calls.last.request
    # The server's nextPage says http://localhost:8080/...: we stay on our own base URL.
    assert request2.url.host == "dhis.example.org"
    assert request2.url.path == "/dhis/api/organisationUnits"
    assert request2.url.params["fields"] == "id,name"
    assert request2.url.params["pageSize"] == "1000"
    assert "Authorization" in request2.headers


def test_iter_pages_stops_on_single_page_pager(client: Client) -> None:
    body = load("categoryOptionCombos-list-2.40.json")
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/categoryOptionCombos").respond(json=body)
        items = list(
            client.iter_pages("categoryOptionCombos", fields=["id", "name", "categoryCombo[id]"])
        )
    assert route.call_count == 1
    assert len(items) == 225 == body["pager"]["total"]
    assert route.calls.last.request.url.params["fields"] == "id,name,categoryCombo[id]"


def test_iter_pages_sends_filters_as_repeated_params(client: Client) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/dataElements").respond(
            json={"pager": {"page": 1, "pageCount": 1}, "dataElements": []}
        )
        list(
            client.iter_pages(
                "dataElements",
                filters=[
                    flt_eq("domainType", "AGGREGATE"),
                    flt_in("id", ["fbfJHSPpUQD", "cYeuwXTCPkU"]),
                ],
                params={"order": "name:asc"},
                page_size=50,
            )
        )
    params = route.calls.last.request.url.params
    assert params.get_list("filter") == [
        "domainType:eq:AGGREGATE",
        "id:in:[fbfJHSPpUQD,cYeuwXTCPkU]",
    ]
    assert params["order"] == "name:asc"
    assert params["pageSize"] == "50"
    assert params["page"] == "1"
    assert "paging" not in params


def test_pager_without_page_count_uses_page_size(client: Client) -> None:
    """2.41 tracker pager without totalPages: only page and pageSize."""
    bodies = [
        {"pager": {"page": 1, "pageSize": 2}, "events": [{"event": "a"}, {"event": "b"}]},
        {"pager": {"page": 2, "pageSize": 2}, "events": [{"event": "c"}]},
    ]
    with respx.mock(base_url=API) as mock:
        route = mock.get("/tracker/events")
        route.side_effect = [httpx.Response(200, json=b) for b in bodies]
        items = list(client.iter_pages("tracker/events", fields="event", page_size=2))
    assert [i["event"] for i in items] == ["a", "b", "c"]
    assert route.call_count == 2


def test_slim_pager_is_last_page(client: Client) -> None:
    """Legacy /api/events 2.38-2.40 with totalPages=false answers a SlimPager."""
    bodies = [
        {"pager": {"page": 1, "pageSize": 1, "isLastPage": False}, "events": [{"event": "a"}]},
        {"pager": {"page": 2, "pageSize": 1, "isLastPage": True}, "events": [{"event": "b"}]},
    ]
    with respx.mock(base_url=API) as mock:
        route = mock.get("/events")
        route.side_effect = [httpx.Response(200, json=b) for b in bodies]
        items = list(client.iter_pages("events", fields="event", page_size=1))
    assert [i["event"] for i in items] == ["a", "b"]
    assert route.call_count == 2


def test_legacy_clamped_pager_pages_until_a_short_page(client: Client) -> None:
    """2.36/2.37 legacy events: pager says page 1 / pageCount 0 whatever page was asked."""
    pager = {"page": 1, "total": 0, "pageSize": 2, "pageCount": 0}
    bodies = [
        {"pager": pager, "events": [{"event": "a"}, {"event": "b"}]},
        {"pager": pager, "events": [{"event": "c"}]},
    ]
    with respx.mock(base_url=API) as mock:
        route = mock.get("/events")
        route.side_effect = [httpx.Response(200, json=b) for b in bodies]
        items = list(client.iter_pages("events", fields="event", page_size=2))
    assert [i["event"] for i in items] == ["a", "b", "c"]
    assert [c.request.url.params["page"] for c in route.calls] == ["1", "2"]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param(
            "tracker-events-get-instances-lt-2.41.android-fixture.json", "instances", id="lt-2.41"
        ),
        pytest.param(
            "tracker-events-get-pager-events-2.41.android-fixture.json", "events", id="2.41"
        ),
    ],
)
def test_tracker_lists_use_the_versions_resource_key(client: Client, name: str, key: str) -> None:
    """Before 2.41 the tracker lists come under `instances`, from 2.41 under the resource name."""
    body = load(name)
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/tracker/events").respond(json=body)
        items = list(client.iter_pages("tracker/events", fields="*", page_size=50))
    assert route.call_count == 1
    assert [e["event"] for e in items] == [e["event"] for e in body[key]]
    assert len(items) == 2


def test_empty_list_stops(client: Client) -> None:
    body = load("tracker-trackedEntities-get-empty-lt-2.41.android-fixture.json")
    with respx.mock(base_url=API) as mock:
        route = mock.get("/tracker/trackedEntities").respond(json=body)
        assert list(client.iter_pages("tracker/trackedEntities", page_size=1)) == []
    assert route.call_count == 1


def test_list_all_uses_paging_false(client: Client) -> None:
    body = load("categoryCombos-default-nonstandard-uids.android-fixture.json")
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/categoryCombos", params__contains={"paging": "false"}).respond(json=body)
        items = client.list_all(
            "categoryCombos", fields="id,name,isDefault", filters=[flt_eq("name", "default")]
        )
    assert items == body["categoryCombos"]
    assert items[0]["id"] == "p0KPaWEg3cf"
    params = route.calls.last.request.url.params
    assert params["fields"] == "id,name,isDefault"
    assert params.get_list("filter") == ["name:eq:default"]
    assert "page" not in params


def test_list_all_org_unit_subtree(client: Client) -> None:
    body = load("organisationUnits-list-fields-level-path-geometry-2.40.truncated.json")
    body = {"organisationUnits": body["organisationUnits"]}  # paging=false: no pager key
    with respx.mock(base_url=API) as mock:
        route = mock.get("/organisationUnits/ImspTQPwCqd").respond(json=body)
        items = client.list_all(
            "organisationUnits/ImspTQPwCqd",
            fields="id,level,path",
            params={"includeDescendants": True},
            items_key="organisationUnits",
        )
    assert [ou["level"] for ou in items] == [1, 3, 4, 4]
    assert route.calls.last.request.url.params["includeDescendants"] == "true"


def test_missing_items_key_is_a_clear_error(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        mock.get("/dataElement").respond(json={"pager": {"page": 1}, "dataElements": []})
        with pytest.raises(UnexpectedResponse, match=r"without a 'dataElement' list.*dataElements"):
            client.list_all("dataElement")
        with pytest.raises(ValueError, match="without a 'dataElement' list"):
            list(client.iter_pages("dataElement"))


def test_repeated_params_and_value_encoding(client: Client) -> None:
    with respx.mock(base_url=API, assert_all_called=True) as mock:
        route = mock.get("/dataValueSets").respond(json={"dataValues": []})
        client.get_json(
            "dataValueSets",
            params={
                "dataSet": "BfMAe6Itzgt",
                "period": ["202401", "202402"],
                "orgUnit": ("ImspTQPwCqd",),
                "children": True,
                "includeDeleted": False,
                "lastUpdated": None,
            },
        )
    url = route.calls.last.request.url
    assert url.params.get_list("period") == ["202401", "202402"]
    assert url.params["children"] == "true"
    assert url.params["includeDeleted"] == "false"
    assert "lastUpdated" not in url.params
    assert url.query.decode() == (
        "dataSet=BfMAe6Itzgt&period=202401&period=202402&orgUnit=ImspTQPwCqd"
        "&children=true&includeDeleted=false"
    )


def test_params_as_pairs_and_query_in_path(client: Client) -> None:
    with respx.mock(base_url=API) as mock:
        route = mock.get("/dataValueSets").respond(json={"dataValues": []})
        client.request(
            "GET",
            "dataValueSets?dataSet=BfMAe6Itzgt",
            params=[("period", "2024Q1"), ("period", "2024Q2")],
        )
    params = route.calls.last.request.url.params
    assert params["dataSet"] == "BfMAe6Itzgt"
    assert params.get_list("period") == ["2024Q1", "2024Q2"]


def test_filter_helpers() -> None:
    assert flt_eq("name", "default") == "name:eq:default"
    assert flt_eq("isDefault", True) == "isDefault:eq:true"
    assert flt_in("id", ["a", "b", "c"]) == "id:in:[a,b,c]"
    assert flt_in("id", ("a",), negate=True) == "id:!in:[a]"
    assert flt_ne("code", "X") == "code:!eq:X"
    assert flt_ilike("name", "clinic") == "name:ilike:clinic"
    assert flt("code", "null") == "code:null"
    assert join_fields(["id", "name", ""]) == "id,name"
    with pytest.raises(ValueError, match="at least one"):
        flt_in("id", [])
    with pytest.raises(ValueError, match="cannot contain"):
        flt_in("name", ["a,b"])


def test_page_size_must_be_positive(client: Client) -> None:
    with pytest.raises(ValueError):
        list(client.iter_pages("dataElements", page_size=0))
