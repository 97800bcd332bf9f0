"""Metadata lists, single objects, fields, filters, paging."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from simulator import Simulator
from simulator.datasets import DEMO
from tests.samples import load_sample
from tests.simulator.helpers import ANC1, NORTH, RCH, ROOT, assert_shape, client_for


def test_pager_page1_and_page2_match_recording(client: httpx.Client) -> None:
    p1 = client.get("/api/organisationUnits", params={"fields": "id,name", "pageSize": 20})
    body = p1.json()
    sample1 = load_sample("organisationUnits-list-page1-pager-2.40.truncated.json")
    assert_shape(body, sample1)
    assert list(body["pager"]) == list(sample1["pager"])  # page,total,pageSize,nextPage,pageCount
    assert body["pager"]["total"] == 55 and body["pager"]["pageCount"] == 3
    assert len(body["organisationUnits"]) == 20
    next_url = body["pager"]["nextPage"]
    assert next_url.startswith("http://sim.local/api/organisationUnits?page=2&")
    assert parse_qs(urlsplit(next_url).query) == {
        "page": ["2"],
        "fields": ["id,name"],
        "pageSize": ["20"],
    }
    assert "fields=id%2Cname" in next_url
    body2 = client.get(next_url).json()
    assert "prevPage" in body2["pager"] and "nextPage" in body2["pager"]
    body3 = client.get(
        "/api/organisationUnits", params={"fields": "id,name", "pageSize": 20, "page": 3}
    ).json()
    sample2 = load_sample("organisationUnits-list-page2-pager-2.40.truncated.json")
    assert_shape(body3, sample2)
    assert list(body3["pager"]) == list(sample2["pager"])
    assert body3["pager"]["prevPage"].split("?")[1].startswith("page=2&")
    ids = {o["id"] for b in (body, body2, body3) for o in b["organisationUnits"]}
    assert len(ids) == 55  # pages are disjoint and complete
    # default order is by name
    names = [o["name"] for o in body["organisationUnits"]]
    assert names == sorted(names)


def test_prev_page_of_page_two_has_no_page_param(client: httpx.Client) -> None:
    pager = client.get("/api/dataElements", params={"pageSize": 5, "page": 2}).json()["pager"]
    assert "page=" not in pager["prevPage"]
    assert "page=3" in pager["nextPage"]


def test_single_page_has_no_links_and_paging_false_has_no_pager(client: httpx.Client) -> None:
    body = client.get("/api/dataSets", params={"fields": "id"}).json()
    assert body["pager"] == {"page": 1, "total": 3, "pageSize": 50, "pageCount": 1}
    assert_shape(
        body,
        load_sample("dataSets-list-fields-dataSetElements-organisationUnits-2.40.truncated.json"),
        ignore=("name", "dataSetElements", "indicators", "organisationUnits"),
    )
    body = client.get("/api/dataSets", params={"paging": "false"}).json()
    assert set(body) == {"dataSets"} and len(body["dataSets"]) == 3
    assert set(body["dataSets"][0]) == {"id", "displayName"}  # default list fields


def test_data_set_with_data_set_elements_matches_recording(client: httpx.Client) -> None:
    body = client.get(
        "/api/dataSets",
        params={"fields": "name,dataSetElements,id,organisationUnits", "filter": f"id:eq:{RCH}"},
    ).json()
    sample = load_sample(
        "dataSets-list-fields-dataSetElements-organisationUnits-2.40.truncated.json"
    )
    assert_shape(body, sample, ignore=("indicators",))
    ds = body["dataSets"][0]
    assert all(dse["dataSet"] == {"id": RCH} for dse in ds["dataSetElements"])
    assert len(ds["organisationUnits"]) == 40


def test_single_object_defaults_to_all_fields(client: httpx.Client) -> None:
    ds = client.get(f"/api/dataSets/{RCH}").json()
    sample = load_sample("dataSet-object.android-fixture.json")
    common = {
        "id",
        "name",
        "code",
        "periodType",
        "openFuturePeriods",
        "expiryDays",
        "categoryCombo",
        "dataSetElements",
        "displayName",
        "created",
        "lastUpdated",
    }
    assert common <= set(ds) and common <= set(sample)
    assert ds["categoryCombo"] == {"id": "bjDvmb4bfuf"}
    assert ds["periodType"] == "Monthly"


def test_nested_fields_expand_references(client: httpx.Client) -> None:
    fields = (
        "id,name,periodType,categoryCombo[id,name,categoryOptionCombos[id,name]],"
        "dataSetElements[dataElement[id,name,valueType,categoryCombo[id]],categoryCombo[id]]"
        ",organisationUnits[id]"
    )
    ds = client.get(f"/api/dataSets/{RCH}", params={"fields": fields}).json()
    assert ds["categoryCombo"] == {
        "id": "bjDvmb4bfuf",
        "name": "default",
        "categoryOptionCombos": [{"id": "HllvX50cXC0", "name": "default"}],
    }
    dse = ds["dataSetElements"][0]
    assert set(dse["dataElement"]) == {"id", "name", "valueType", "categoryCombo"}
    assert set(dse["dataElement"]["categoryCombo"]) == {"id"}
    overrides = [d for d in ds["dataSetElements"] if "categoryCombo" in d]
    assert len(overrides) == 1  # BCG doses given is disaggregated by Sex in this data set


def test_org_unit_fields_match_recording(client: httpx.Client) -> None:
    body = client.get(
        "/api/organisationUnits",
        params={
            "fields": "id,name,level,path,geometry",
            "filter": "level:in:[1,4]",
            "order": "level:asc",
            "pageSize": 3,
        },
    ).json()
    sample = load_sample("organisationUnits-list-fields-level-path-geometry-2.40.truncated.json")
    root, facility = body["organisationUnits"][0], body["organisationUnits"][1]
    assert_shape(root, sample["organisationUnits"][0])
    assert_shape(facility, sample["organisationUnits"][2])
    assert root["path"] == f"/{ROOT}" and root["level"] == 1
    assert facility["path"].count("/") == 4 and facility["path"].endswith(facility["id"])


def test_org_unit_object_parent_children_ancestors(client: httpx.Client) -> None:
    fac = DEMO["organisationUnits"]["Kolo Health Post"]
    ou = client.get(f"/api/organisationUnits/{fac}").json()
    sample = load_sample(
        "organisationUnit-object-path-parent-children-ancestors.android-fixture.json"
    )
    for key in (
        "id",
        "name",
        "level",
        "path",
        "parent",
        "children",
        "ancestors",
        "openingDate",
        "dataSets",
        "programs",
        "displayName",
        "geometry",
    ):
        assert key in ou and key in sample, key
    assert ou["children"] == [] and ou["parent"] == {"id": DEMO["organisationUnits"]["Kolo"]}
    assert [a["id"] for a in ou["ancestors"]] == ou["path"].strip("/").split("/")[:-1]
    region = client.get(f"/api/organisationUnits/{NORTH}", params={"fields": "children"}).json()
    assert len(region["children"]) == 3


def test_fields_presets_and_exclusion(client: httpx.Client) -> None:
    de = client.get("/api/dataElements", params={"fields": ":identifiable", "pageSize": 1}).json()
    assert set(de["dataElements"][0]) == {"id", "name", "code", "created", "lastUpdated"}
    de = client.get(
        "/api/dataElements", params={"fields": "*,!created,!lastUpdated", "pageSize": 1}
    ).json()["dataElements"][0]
    assert "created" not in de and "displayName" in de and "valueType" in de
    owner = client.get("/api/dataElements", params={"fields": ":owner", "pageSize": 1}).json()
    assert "displayName" not in owner["dataElements"][0]
    renamed = client.get(
        f"/api/dataSets/{RCH}", params={"fields": "id~rename(uid),organisationUnits~size"}
    ).json()
    assert renamed == {"uid": RCH, "organisationUnits": 40}


def test_filters(client: httpx.Client) -> None:
    def ids(*filters: str, **extra: str) -> set[str]:
        params = {"fields": "id", "paging": "false", "filter": list(filters), **extra}
        return {
            o["id"] for o in client.get("/api/dataElements", params=params).json()["dataElements"]
        }

    in_rch = ids(f"dataSetElements.dataSet.id:eq:{RCH}")
    assert len(in_rch) == 13
    assert len(ids(f"dataSetElements.dataSet.id:!eq:{RCH}")) == 21 - 13
    assert ids("code:eq:DE_ANC1") == {ANC1}
    assert len(ids("code:in:[DE_ANC1,DE_ANC4]")) == 2
    assert len(ids("code:!in:[DE_ANC1,DE_ANC4]")) == 19
    assert len(ids("name:like:doses")) == 2
    assert len(ids("name:ilike:DOSES")) == 2
    assert len(ids("name:$ilike:weekly")) == 2
    assert len(ids("valueType:eq:TEXT", "domainType:eq:AGGREGATE")) == 1  # AND
    assert len(ids("valueType:eq:TEXT", "valueType:eq:BOOLEAN", rootJunction="OR")) == 5
    assert len(ids("code:null")) == 0 and len(ids("code:!null")) == 21
    ous = client.get(
        "/api/organisationUnits",
        params={"filter": [f"path:like:{NORTH}", "level:eq:4"], "paging": "false"},
    ).json()
    assert len(ous["organisationUnits"]) == 12
    kids = client.get(
        "/api/organisationUnits", params={"filter": f"parent.id:eq:{NORTH}", "paging": "false"}
    ).json()
    assert len(kids["organisationUnits"]) == 3
    bad = client.get("/api/dataElements", params={"filter": "name:frobnicate:x"})
    assert bad.status_code == 409 and bad.json()["errorCode"] == "E2014"


def test_order(client: httpx.Client) -> None:
    body = client.get(
        "/api/organisationUnits",
        params={"fields": "name,level", "order": "level:desc,name:asc", "paging": "false"},
    ).json()
    levels = [o["level"] for o in body["organisationUnits"]]
    assert levels == sorted(levels, reverse=True)


@pytest.mark.parametrize(
    ("version", "with_code"), [("2.39.5", False), ("2.40.4.1", True), ("2.42.1", True)]
)
def test_unknown_id_404(make_sim: Callable[..., Simulator], version: str, with_code: bool) -> None:
    with client_for(make_sim(version)) as c:
        r = c.get("/api/dataSets/xyz")
    assert r.status_code == 404
    expected = {
        "httpStatus": "Not Found",
        "httpStatusCode": 404,
        "status": "ERROR",
        "message": "DataSet with id xyz could not be found.",
    }
    if with_code:
        expected["errorCode"] = "E1005"
    assert r.json() == expected


def test_org_unit_descendants_cut_silently_up_to_240(make_sim: Callable[..., Simulator]) -> None:
    with client_for(make_sim("2.40.4.1")) as c:
        body = c.get(f"/api/organisationUnits/{ROOT}", params={"includeDescendants": "true"}).json()
        assert set(body) == {"organisationUnits"}
        assert len(body["organisationUnits"]) == 50  # silently cut to pageSize
        full = c.get(
            f"/api/organisationUnits/{ROOT}",
            params={"includeDescendants": "true", "paging": "false"},
        ).json()
        assert len(full["organisationUnits"]) == 55
        kids = c.get(f"/api/organisationUnits/{NORTH}", params={"includeChildren": "true"}).json()
        assert len(kids["organisationUnits"]) == 4
    with client_for(make_sim("2.41.0.1")) as c:
        body = c.get(f"/api/organisationUnits/{ROOT}", params={"includeDescendants": "true"}).json()
        assert body["pager"]["total"] == 55 and len(body["organisationUnits"]) == 50
        assert "nextPage" in body["pager"]
        assert (
            c.get("/api/organisationUnits/nope", params={"includeDescendants": "true"}).status_code
            == 404
        )


def test_filled_org_unit_levels_and_category_option_combos(client: httpx.Client) -> None:
    levels = client.get("/api/filledOrganisationUnitLevels").json()
    sample = load_sample("filledOrganisationUnitLevels-2.40.json")
    assert isinstance(levels, list) and [lv["level"] for lv in levels] == [1, 2, 3, 4]
    for key in ("id", "name", "level", "displayName", "created", "lastUpdated"):
        assert key in levels[0] and key in sample[0]
    cocs = client.get("/api/categoryOptionCombos", params={"fields": "id,name", "pageSize": 1000})
    assert_shape(cocs.json(), load_sample("categoryOptionCombos-list-2.40.json"))
    defaults = client.get(
        "/api/categoryCombos",
        params={
            "filter": "name:eq:default",
            "fields": "id,name,isDefault,categories[id],"
            "categoryOptionCombos[id,name,categoryCombo[id],categoryOptions[id]]",
        },
    ).json()
    sample_cc = load_sample("categoryCombos-default-nonstandard-uids.android-fixture.json")
    cc = defaults["categoryCombos"][0]
    assert cc["id"] == "bjDvmb4bfuf" and cc["isDefault"] is True
    assert cc["categoryOptionCombos"][0] == {
        "id": "HllvX50cXC0",
        "name": "default",
        "categoryCombo": {"id": "bjDvmb4bfuf"},
        "categoryOptions": [{"id": "xYerKDKCefk"}],
    }
    assert set(cc) <= set(sample_cc["categoryCombos"][0])
