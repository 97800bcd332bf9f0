"""/api/metadata export and import."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simulator import Simulator
from tests.samples import load_sample
from tests.simulator.helpers import ANC1, RCH, assert_shape, client_for


def _report(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    return body["response"] if "httpStatusCode" in body else body


def test_export_selected_types_and_defaults(client: httpx.Client) -> None:
    body = client.get(
        "/api/metadata", params={"dataElements": "true", "categoryCombos": "true"}
    ).json()
    assert set(body) == {"system", "dataElements", "categoryCombos"}
    assert set(body["system"]) == {"id", "rev", "version", "date"}
    assert "displayName" not in body["dataElements"][0]  # :owner by default
    assert "bjDvmb4bfuf" in {c["id"] for c in body["categoryCombos"]}
    no_defaults = client.get(
        "/api/metadata",
        params={"categoryCombos": "true", "defaults": "EXCLUDE", "fields": "id,name"},
    ).json()
    assert "bjDvmb4bfuf" not in {c["id"] for c in no_defaults["categoryCombos"]}
    filtered = client.get(
        "/api/metadata",
        params={"dataElements": "true", "filter": "code:eq:DE_ANC1", "fields": "id"},
    ).json()
    assert filtered["dataElements"] == [{"id": ANC1}]


def test_dependency_export_round_trip(make_sim: Callable[..., Simulator]) -> None:
    src = make_sim()
    with client_for(src) as c:
        bundle = c.get(f"/api/dataSets/{RCH}/metadata.json").json()
    assert {
        "dataSets",
        "dataElements",
        "categoryCombos",
        "categoryOptionCombos",
        "categories",
        "categoryOptions",
    } <= set(bundle)
    assert "organisationUnits" not in bundle
    bundle.pop("system")
    bundle["dataSets"][0]["organisationUnits"] = []
    target = make_sim(dataset="empty")
    with client_for(target) as c:
        r = c.post("/api/metadata", json=bundle)
        assert r.status_code == 200, r.text
        sample = load_sample("metadata-import-webmessage-200-ok.java-client-fixture.json")
        assert_shape(r.json(), sample)
        assert r.json()["response"]["responseType"] == "ImportReport"
        stats = r.json()["response"]["stats"]
        assert stats["created"] + stats["updated"] == stats["total"]
    assert RCH in {d["id"] for d in target.metadata("dataSets")}
    assert (
        len(target.metadata("categoryOptionCombos"))
        == len(src.metadata("categoryOptionCombos")) - 2
    )  # the Funding combos were not needed by RCH


def test_missing_reference_required_and_unique_errors(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(dataset="demo-destination")
    payload = {
        "dataElements": [
            {
                "name": "New element",
                "shortName": "New element",
                "valueType": "NUMBER",
                "aggregationType": "SUM",
                "domainType": "AGGREGATE",
                "categoryCombo": {"id": "NoSuchCombo"},
            },
            {
                "name": "No short name",
                "valueType": "NUMBER",
                "aggregationType": "SUM",
                "domainType": "AGGREGATE",
            },
            {
                "name": "Clash",
                "shortName": "Clash",
                "code": "DE_ANC1",
                "valueType": "NUMBER",
                "aggregationType": "SUM",
                "domainType": "AGGREGATE",
            },
            {
                "name": "Fine",
                "shortName": "Fine",
                "valueType": "NUMBER",
                "aggregationType": "SUM",
                "domainType": "AGGREGATE",
            },
        ]
    }
    with client_for(sim) as c:
        r = c.post("/api/metadata", json=payload)
        assert r.status_code == 409
        assert r.json()["status"] == "WARNING"
        assert r.json()["message"] == (
            "One or more errors occurred, please see full details in import report."
        )
        report = _report(r)
        assert report["status"] == "ERROR"
        assert report["stats"] == {
            "created": 0,
            "updated": 0,
            "deleted": 0,
            "ignored": 4,
            "total": 4,
        }
        objs = report["typeReports"][0]["objectReports"]
        codes = {o["index"]: [e["errorCode"] for e in o["errorReports"]] for o in objs}
        assert codes == {0: ["E5002"], 1: ["E4000"], 2: ["E5003"]}
        e5002 = objs[0]["errorReports"][0]
        assert e5002["errorKlass"] == "org.hisp.dhis.category.CategoryCombo"
        assert e5002["message"] == (
            "Invalid reference NoSuchCombo (CategoryCombo) on object New "
            "element (DataElement) for association `categoryCombo`."
        )
        assert "Fine" not in {d["name"] for d in sim.metadata("dataElements")}
        r = c.post("/api/metadata", json=payload, params={"atomicMode": "NONE"})
        assert _report(r)["status"] == "WARNING"
        assert _report(r)["stats"]["created"] == 1
        assert "Fine" in {d["name"] for d in sim.metadata("dataElements")}
        r = c.post(
            "/api/metadata",
            json={
                "dataElements": [
                    {**payload["dataElements"][3], "name": "Fine 2", "shortName": "Fine 2"}
                ]
            },
            params={"importMode": "VALIDATE", "identifier": "AUTO"},
        )
        assert r.status_code == 200
        assert _report(r)["stats"]["created"] == 1
        assert "Fine 2" not in {d["name"] for d in sim.metadata("dataElements")}
        r = c.post("/api/metadata", json={"dataElements": [payload["dataElements"][3]]})
        assert [
            e["errorCode"] for e in _report(r)["typeReports"][0]["objectReports"][0]["errorReports"]
        ] == ["E5003", "E5003"]  # name and shortName clash


def test_combo_in_payload_resolves_reference_and_generates_option_combos(
    make_sim: Callable[..., Simulator],
) -> None:
    sim = make_sim(dataset="empty")
    payload = {
        "categoryOptions": [
            {"id": "OptYes00001", "name": "Yes", "shortName": "Yes"},
            {"id": "OptNo000001", "name": "No", "shortName": "No"},
        ],
        "categories": [
            {
                "id": "CatYesNo001",
                "name": "Yes/No",
                "shortName": "Yes/No",
                "dataDimensionType": "DISAGGREGATION",
                "categoryOptions": [{"id": "OptYes00001"}, {"id": "OptNo000001"}],
            }
        ],
        "categoryCombos": [
            {
                "id": "ComboYesNo1",
                "name": "Yes/No",
                "dataDimensionType": "DISAGGREGATION",
                "categories": [{"id": "CatYesNo001"}],
            }
        ],
        "dataElements": [
            {
                "id": "DeYesNo0001",
                "name": "Answer",
                "shortName": "Answer",
                "valueType": "NUMBER",
                "aggregationType": "SUM",
                "domainType": "AGGREGATE",
                "categoryCombo": {"id": "ComboYesNo1"},
            }
        ],
    }
    with client_for(sim) as c:
        r = c.post("/api/metadata", json=payload, params={"importReportMode": "FULL"})
        assert r.status_code == 200
        klasses = [t["klass"] for t in _report(r)["typeReports"]]
        assert klasses == [
            "org.hisp.dhis.category.CategoryOption",
            "org.hisp.dhis.category.Category",
            "org.hisp.dhis.category.CategoryCombo",
            "org.hisp.dhis.dataelement.DataElement",
        ]
        assert len(_report(r)["typeReports"][0]["objectReports"]) == 2  # FULL lists all
        cocs = c.get(
            "/api/categoryOptionCombos",
            params={"filter": "categoryCombo.id:eq:ComboYesNo1", "fields": "id,name"},
        ).json()
        assert sorted(x["name"] for x in cocs["categoryOptionCombos"]) == ["No", "Yes"]
        again = c.post("/api/metadata", json=payload)
        assert _report(again)["stats"]["updated"] == 5
        cocs2 = c.get(
            "/api/categoryOptionCombos",
            params={"filter": "categoryCombo.id:eq:ComboYesNo1", "fields": "id,name"},
        ).json()
        assert cocs2 == cocs  # existing combos keep their UIDs


@pytest.mark.parametrize("version", ["2.36.13.2", "2.37.9.1"])
def test_bare_report_before_238(make_sim: Callable[..., Simulator], version: str) -> None:
    sim = make_sim(version, dataset="empty")
    payload = {"categoryOptions": [{"name": "Solo", "shortName": "Solo"}]}
    with client_for(sim) as c:
        r = c.post("/api/metadata", json=payload)
    assert r.status_code == 200
    sample = load_sample("metadata-import-report-bare-pre2.38.docs-2.40.json")
    assert_shape(r.json(), sample)
    assert r.json()["stats"]["created"] == 1


def test_async_metadata_import(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim("2.40.4.1", dataset="empty")
    with client_for(sim) as c:
        r = c.post(
            "/api/metadata",
            params={"async": "true"},
            json={"categoryOptions": [{"name": "Solo", "shortName": "Solo"}]},
        )
        job = r.json()["response"]
        assert r.json()["message"] == "Initiated metadataImport"
        assert job["jobType"] == "METADATA_IMPORT"
        for _ in range(200):
            notes = c.get(job["relativeNotifierEndpoint"]).json()
            if notes and notes[0]["completed"]:
                break
            import time

            time.sleep(0.01)
        assert_shape(
            notes,
            load_sample("system-tasks-METADATA_IMPORT-done-2.34.import-export-app-fixture.json"),
        )
        summary = c.get(f"/api/system/taskSummaries/METADATA_IMPORT/{job['id']}").json()
        assert summary["status"] == "OK" and "importParams" in summary


def test_metadata_import_requires_authority(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(users={"clerk": {"password": "Clerk1234", "authorities": ["F_DATAVALUE_ADD"]}})
    with client_for(sim, auth=("clerk", "Clerk1234")) as c:
        assert c.post("/api/metadata", json={}).status_code == 403
        assert c.get("/api/metadata").status_code == 403
