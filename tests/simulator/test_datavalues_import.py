"""POST /api/dataValueSets: envelopes per version, validation codes, counting, async."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simulator import Simulator
from simulator.datasets import DEMO, DEMO_MAPPING
from tests.samples import load_sample
from tests.simulator.helpers import (
    ANC1,
    BCG,
    BED,
    ELEC,
    FAC,
    MAL,
    RCH,
    STAFF,
    assert_shape,
    client_for,
    poll_until,
)

DEFAULT = "HllvX50cXC0"
CLERK = {"clerk": {"password": "Clerk1234", "authorities": ["F_DATAVALUE_ADD"]}}


def dv(
    de: str = ANC1, pe: str = "202405", ou: str = FAC, value: Any = "12", **kw: Any
) -> dict[str, Any]:
    return {"dataElement": de, "period": pe, "orgUnit": ou, "value": value, **kw}


def post(
    c: httpx.Client, values: list[dict[str, Any]], path: str = "/api/dataValueSets", **params: Any
) -> httpx.Response:
    payload = {"dataValues": values, **params.pop("payload", {})}
    return c.post(path, json=payload, params=params)


@pytest.fixture
def dest(make_sim: Callable[..., Simulator]) -> Simulator:
    return make_sim(dataset="demo-destination", users=CLERK)


@pytest.fixture
def dc(dest: Simulator) -> httpx.Client:
    return client_for(dest)


def summary(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    return body["response"] if "httpStatusCode" in body else body


def test_success_webmessage_matches_sample(dc: httpx.Client, dest: Simulator) -> None:
    r = post(dc, [dv(), dv(de=BED, value="55.5")])
    assert r.status_code == 200
    sample = load_sample(
        "dataValueSets-import-webmessage-200-success-2.38plus.android-fixture.json"
    )
    assert_shape(r.json(), sample, ignore=("rejectedIndexes",))
    assert r.json()["message"] == "Import was successful."
    assert r.json()["response"]["rejectedIndexes"] == []
    assert summary(r)["importCount"] == {"imported": 2, "updated": 0, "ignored": 0, "deleted": 0}
    stored = dest.data_values(org_unit=FAC)
    assert {v["value"] for v in stored} == {"12", "55.5"}
    assert all(v["storedBy"] == "admin" and v["categoryOptionCombo"] == DEFAULT for v in stored)


def test_warning_409_with_grouped_conflicts(dc: httpx.Client) -> None:
    r = post(dc, [dv(), dv(value="abc"), dv(pe="202404", value="x"), dv(de="nope")])
    assert r.status_code == 409
    body = r.json()
    sample = load_sample("dataValueSets-import-webmessage-409-warning.android-fixture.json")
    assert_shape(body, sample, ignore=("rejectedIndexes", "conflicts"))
    assert body["status"] == "WARNING"
    assert body["message"] == "One more conflicts encountered, please check import summary."
    s = body["response"]
    assert s["importCount"] == {"imported": 1, "updated": 0, "ignored": 3, "deleted": 0}
    assert s["rejectedIndexes"] == [1, 2, 3]
    conflict_sample = load_sample(
        "dataValueSets-import-conflict-object-2.37plus.android-fixture.json"
    )
    type_conflicts = [c for c in s["conflicts"] if c["errorCode"] == "E7619"]
    assert len(type_conflicts) == 1  # grouped per (code, arguments), like the sample
    assert type_conflicts[0]["indexes"] == [1, 2]
    assert_shape(type_conflicts[0], conflict_sample)
    assert type_conflicts[0]["value"] == (
        f"Value must match data element's `{ANC1}` type constraints: Data value is not zero or "
        "positive integer"
    )
    assert type_conflicts[0]["objects"] == {
        "dataElement": ANC1,
        "value": "value_not_zero_or_positive_integer",
    }


def test_grouping_collects_indexes(dc: httpx.Client) -> None:
    s = summary(post(dc, [dv(de="nope"), dv(), dv(de="nope", pe="202404")]))
    assert s["conflicts"] == [
        {
            "object": "nope",
            "objects": {"dataElement": "nope"},
            "value": "Data element not found or not accessible: `nope`",
            "errorCode": "E7610",
            "property": "dataElement",
            "indexes": [0, 2],
        }
    ]


@pytest.mark.parametrize(
    ("version", "bare", "grouped", "rejected"),
    [
        ("2.36.13.2", True, False, False),
        ("2.37.9.1", True, True, False),
        ("2.38.7", False, True, False),
        ("2.39.1", False, True, False),
        ("2.39.2", False, True, True),
        ("2.40.0", False, True, False),
        ("2.40.1", False, True, True),
        ("2.41.0.1", False, True, True),
        ("2.42.1", False, True, True),
    ],
)
def test_envelope_and_conflict_style_by_version(
    make_sim: Callable[..., Simulator], version: str, bare: bool, grouped: bool, rejected: bool
) -> None:
    sim = make_sim(version, dataset="demo-destination")
    with client_for(sim) as c:
        r = post(c, [dv(value="abc"), dv(pe="202404")])
    body = r.json()
    assert r.status_code == (200 if bare else 409)
    assert ("httpStatusCode" in body) is (not bare)
    s = summary(r)
    assert s["status"] == "WARNING" and s["importCount"]["imported"] == 1
    assert ("rejectedIndexes" in s) is rejected
    conflict = s["conflicts"][0]
    if grouped:
        assert conflict["errorCode"] == "E7619" and conflict["indexes"] == [0]
    else:
        assert conflict == {
            "object": "abc",
            "value": "Data value is not zero or positive "
            f"integer, must match data element type: {ANC1}",
        }


def test_api_37_path_is_bare_before_242_only(make_sim: Callable[..., Simulator]) -> None:
    for version, bare in (("2.40.4.1", True), ("2.42.1", False)):
        with client_for(make_sim(version, dataset="demo-destination")) as c:
            r = post(c, [dv(value="abc")], path="/api/37/dataValueSets")
        assert ("httpStatusCode" in r.json()) is (not bare)
        assert r.status_code == (200 if bare else 409)


def test_header_errors_abort_with_error_status(dc: httpx.Client, dest: Simulator) -> None:
    r = post(dc, [dv()], payload={"dataSet": "nope", "orgUnit": "gone"})
    assert r.status_code == 409
    assert r.json()["status"] == "ERROR"
    assert r.json()["message"] == "An error occurred, please check import summary."
    s = r.json()["response"]
    assert s["description"] == "Import process was aborted"
    assert [c["errorCode"] for c in s["conflicts"]] == ["E7600", "E7603"]
    assert s["importCount"]["imported"] == 0 and dest.data_values() == []


def _codes(r: httpx.Response) -> list[str]:
    return [c["errorCode"] for c in summary(r)["conflicts"]]


def test_reference_errors(dc: httpx.Client) -> None:
    r = post(
        dc,
        [
            dv(de="nope"),
            dv(pe="2024M13"),
            dv(ou="nope"),
            dv(categoryOptionCombo="nope"),
            dv(attributeOptionCombo="nope"),
            dv(value=None),
            dv(value=""),
        ],
    )
    assert _codes(r) == ["E7610", "E7611", "E7612", "E7613", "E7615", "E7618"]
    assert summary(r)["conflicts"][-1]["indexes"] == [5, 6]
    assert summary(r)["importCount"]["ignored"] == 7


def test_value_type_errors(dc: httpx.Client) -> None:
    r = post(
        dc,
        [
            dv(de=BED, value="101"),
            dv(de=ELEC, value="maybe"),
            dv(de=STAFF, value="1.5"),
            dv(de=ELEC, value="1"),
            dv(de=BED, value="99.9"),
        ],
    )
    assert _codes(r) == ["E7619", "E7619", "E7619"]
    assert [c["objects"]["value"] for c in summary(r)["conflicts"]] == [
        "value_not_percentage",
        "value_not_bool",
        "value_not_integer",
    ]
    assert summary(r)["importCount"]["imported"] == 2


def test_user_hierarchy_e7617(make_sim: Callable[..., Simulator]) -> None:
    south = DEMO["organisationUnits"]["Southern Region"]
    sim = make_sim(
        dataset="demo-destination",
        users={
            "south": {
                "password": "Pw123456",
                "authorities": ["F_DATAVALUE_ADD"],
                "organisationUnits": [south],
                "id": "SouthUser01",
            }
        },
    )
    with client_for(sim, auth=("south", "Pw123456")) as c:
        r = post(c, [dv()])
    conflict = summary(r)["conflicts"][0]
    assert conflict["errorCode"] == "E7617"
    assert conflict["value"] == (
        f"Organisation unit: `{FAC}` not in hierarchy of current user: `SouthUser01`"
    )


def test_strict_flags(dc: httpx.Client, dest: Simulator) -> None:
    sex_female = next(
        c["id"] for c in dest.metadata("categoryOptionCombos") if c["name"] == "Female"
    )
    r = post(dc, [dv(de=STAFF, categoryOptionCombo=sex_female)])
    assert r.status_code == 200  # DHIS2 does not check the combo unless asked to
    r = post(
        dc,
        [
            dv(de=STAFF, pe="202404", categoryOptionCombo=sex_female),
            dv(de=BCG, pe="202404", categoryOptionCombo=sex_female),
        ],
        strictCategoryOptionCombos="true",
    )
    assert _codes(r) == ["E7634"]  # BCG's data set element overrides its combo to Sex
    assert summary(r)["conflicts"][0]["value"] == (
        f"Category option combo: `{sex_female}` must be part of category combo of data "
        f"element: `{STAFF}`"
    )
    r = post(
        dc,
        [dv(de=DEMO["dataElements"]["HIV tests performed"], pe="202403")],
        payload={"dataSet": RCH},
        strictDataElements="true",
    )
    assert _codes(r) == ["E7633"]
    hiv_less = DEMO["organisationUnits"]["Kolo Clinic"]
    r = post(
        dc,
        [dv(de=BED, pe="2024Q1", ou=hiv_less), dv(de=ANC1, pe="202403", ou=hiv_less)],
        strictOrganisationUnits="true",
    )
    assert r.status_code == 200  # Bed occupancy is also in RCH Monthly, assigned everywhere
    r = post(
        dc,
        [dv(pe="202402", ou=DEMO["organisationUnits"]["Northern Region"])],
        strictOrganisationUnits="true",
    )
    assert _codes(r) == ["E7636"]
    r = post(dc, [dv(pe="202401")], requireCategoryOptionCombo="true")
    assert _codes(r) == ["E7630"]
    r = post(dc, [dv(pe="2024W3")], strictPeriods="true")
    assert _codes(r) == ["E7632"]


def test_strict_system_setting(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(
        dataset="demo-destination",
        dataset_options={"settings": {"keyDataImportStrictCategoryOptionCombos": True}},
    )
    with client_for(sim) as c:
        r = post(
            c,
            [
                dv(
                    categoryOptionCombo=DEMO_MAPPING["categoryOptionCombos"][
                        next(iter(DEMO_MAPPING["categoryOptionCombos"]))
                    ]
                )
            ],
        )
    assert _codes(r) == ["E7634"]


def test_expiry_lock_and_future_periods(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(
        dataset="demo-destination", users=CLERK, dataset_options={"expiry_days": {RCH: 30}}
    )
    with client_for(sim, auth=("clerk", "Clerk1234")) as c:
        r = post(c, [dv(pe="202405"), dv(pe="202406"), dv(pe="202407"), dv(pe="202408")])
        assert _codes(r) == ["E7640", "E7641", "E7641"]
        first = summary(r)["conflicts"][0]
        assert first["value"] == (
            f"Current date is past expiry days for period: `202405`  and data set: `{RCH}`"
        )
        assert first["objects"] == {"period": "202405", "dataSet": RCH}
        future = summary(r)["conflicts"][1]
        assert future["value"] == (
            f"Period: `202407` is after latest open future period: "
            f"`202406` for data element: `{ANC1}`"
        )
        assert summary(r)["importCount"] == {
            "imported": 1,
            "updated": 0,
            "ignored": 3,
            "deleted": 0,
        }
    with client_for(sim) as c:  # the superuser holds F_EDIT_EXPIRED
        assert post(c, [dv(pe="202405")]).status_code == 200
        sim.lock_period(RCH, "202403")
        assert _codes(post(c, [dv(pe="202403")])) == ["E7640"]
        sim.update_metadata("dataSets", RCH, openFuturePeriods=2)
        assert post(c, [dv(pe="202407"), dv(pe="202408")]).status_code == 200
        sim.update_metadata(
            "dataSets",
            RCH,
            dataInputPeriods=[
                {
                    "period": {"id": "202402"},
                    "openingDate": "2024-03-01T00:00:00.000",
                    "closingDate": "2024-03-10T00:00:00.000",
                }
            ],
        )
        assert _codes(post(c, [dv(pe="202402")])) == ["E7643"]


def test_counting_rules_and_idempotent_reimport(dc: httpx.Client, dest: Simulator) -> None:
    values = [
        dv(),
        dv(de=MAL, categoryOptionCombo=next(iter(DEMO_MAPPING["categoryOptionCombos"].values()))),
        dv(de=ANC1, pe="202404", value="0"),
        dv(de=STAFF, value="0"),
    ]
    first = summary(post(dc, values))
    assert first["importCount"] == {"imported": 2, "updated": 0, "ignored": 2, "deleted": 0}
    assert first["status"] == "WARNING"  # MAL has another UID in the destination
    stamp = {v["dataElement"]: v["lastUpdated"] for v in dest.data_values()}
    time.sleep(0.002)
    again = summary(post(dc, values))
    assert again["importCount"] == {"imported": 0, "updated": 2, "ignored": 2, "deleted": 0}
    assert len(dest.data_values()) == 2  # updated, never duplicated
    assert {v["dataElement"]: v["lastUpdated"] for v in dest.data_values()} == stamp
    changed = summary(post(dc, [dv(value="13")]))
    assert changed["importCount"]["updated"] == 1
    assert next(v["value"] for v in dest.data_values(data_element=ANC1)) == "13"
    assert summary(post(dc, [dv(value="14")], importStrategy="CREATE"))["importCount"] == {
        "imported": 0,
        "updated": 0,
        "ignored": 1,
        "deleted": 0,
    }
    assert summary(post(dc, [dv(pe="202402")], strategy="UPDATES"))["importCount"]["ignored"] == 1
    assert summary(post(dc, [dv(pe="202402")], strategy="NEW"))["importCount"]["imported"] == 1


def test_dry_run_stores_nothing(dc: httpx.Client, dest: Simulator) -> None:
    s = summary(post(dc, [dv(), dv(pe="202404")], dryRun="true"))
    assert s["importCount"]["imported"] == 2 and s["importOptions"]["dryRun"] is True
    assert dest.data_values() == []
    s = summary(post(dc, [dv()], payload={"dryRun": True}))
    assert s["importCount"]["imported"] == 1 and dest.data_values() == []


def test_delete_soft_deletes(dc: httpx.Client, dest: Simulator) -> None:
    post(dc, [dv(), dv(pe="202404")])
    s = summary(post(dc, [dv(), dv(pe="202403")], importStrategy="DELETE"))
    assert s["importCount"] == {"imported": 0, "updated": 0, "ignored": 1, "deleted": 1}
    assert len(dest.data_values()) == 1
    gone = [v for v in dest.data_values(include_deleted=True) if v["deleted"]]
    assert len(gone) == 1 and gone[0]["period"] == "202405"
    body = dc.get(
        "/api/dataValueSets",
        params={"dataElement": ANC1, "period": "202405", "orgUnit": FAC, "includeDeleted": "true"},
    ).json()
    assert body["dataValues"][0]["deleted"] is True
    assert summary(post(dc, [dv()]))["importCount"]["imported"] == 1  # comes back to life
    s = summary(post(dc, [dv(deleted=True)]))
    assert s["importCount"]["deleted"] == 1


def test_header_fields_id_schemes_and_completion(dc: httpx.Client, dest: Simulator) -> None:
    payload = {
        "dataSet": "DS_RCH",
        "period": "202405",
        "orgUnit": dest.metadata("organisationUnits")[0]["code"],
        "completeDate": "2024-06-03",
        "dataValues": [
            {"dataElement": "DE_ANC1", "value": "4"},
            {"dataElement": "ANC_4", "value": "2"},
        ],
    }
    ou = dest.metadata("organisationUnits")[0]["id"]
    r = dc.post("/api/dataValueSets", json=payload, params={"idScheme": "CODE"})
    s = summary(r)
    assert s["importCount"]["imported"] == 2, s
    assert s["dataSetComplete"] == "2024-06-03"
    assert s["importOptions"]["idSchemes"] == {"idScheme": {"type": "CODE"}}
    assert {v["orgUnit"] for v in dest.data_values()} == {ou}
    assert dest.completions(RCH)[0]["period"] == "202405"


def test_bad_json_and_content_type(dc: httpx.Client) -> None:
    r = dc.post(
        "/api/dataValueSets", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 409 and r.json()["status"] == "ERROR"
    r = dc.post("/api/dataValueSets", content=b"<x/>", headers={"Content-Type": "text/csv"})
    assert r.status_code == 415


def _wait_done(c: httpx.Client, url: str) -> list[dict[str, Any]]:
    def notes() -> list[dict[str, Any]] | None:
        answer = c.get(url).json()
        return answer if answer and answer[0]["completed"] else None

    return poll_until(notes, "job", attempts=200)


@pytest.mark.parametrize(
    ("version", "sample"),
    [
        ("2.36.13.2", "dataValueSets-post-async-job-response-2.34.import-export-app-fixture.json"),
        ("2.39.5", None),
        ("2.40.4.1", None),
        (
            "2.41.0.1",
            "dataValueSets-post-async-job-response-2.44dev.import-export-app-recording.json",
        ),
    ],
)
def test_async_import_job_and_polling(
    make_sim: Callable[..., Simulator], version: str, sample: str | None
) -> None:
    sim = make_sim(version, dataset="demo-destination", dataset_options={"job_delay": 0.2})
    with client_for(sim) as c:
        r = post(c, [dv(), dv(value="bad")], **{"async": "true"})
        assert r.status_code == 200
        body = r.json()
        job = body["response"]
        if sample:
            assert_shape(body, load_sample(sample), ignore=("idSchemes", "jobParameters"))
        if version.startswith("2.41"):
            assert body["message"].startswith("Initiated DATAVALUE_IMPORT (")
            assert job["name"] == body["message"].removeprefix("Initiated ")
        else:
            assert (
                body["message"] == "Initiated dataValueImport" and job["name"] == "dataValueImport"
            )
        assert ("Location" in r.headers) is (version >= "2.40")
        assert ("jobStatus" in job) is (version >= "2.38")
        endpoint = job["relativeNotifierEndpoint"]
        assert endpoint == f"/api/system/tasks/DATAVALUE_IMPORT/{job['id']}"
        assert c.get(endpoint).json() == []  # nothing yet right after start
        empty = c.get(f"/api/system/taskSummaries/DATAVALUE_IMPORT/{job['id']}")
        assert empty.status_code == 200 and empty.content == b""
        assert sim.data_values() == []
        notes = _wait_done(c, endpoint)
        assert_shape(
            notes,
            load_sample("system-tasks-DATAVALUE_IMPORT-done-2.34.import-export-app-fixture.json"),
            ignore=("id",),
        )
        assert notes[0]["message"] == "Import done" and notes[-1]["message"] == "Process started"
        assert notes[0]["time"] >= notes[-1]["time"]
        s = c.get(f"/api/system/taskSummaries/DATAVALUE_IMPORT/{job['id']}").json()
        assert "httpStatusCode" not in s and s["status"] == "WARNING"
        assert s["importCount"]["imported"] == 1 and s["importOptions"]["async"] is True
        assert len(sim.data_values()) == 1


def test_import_100k_values_is_fast(make_sim: Callable[..., Simulator]) -> None:
    """Not a timing test: checks a bench-sized import completes and counts correctly."""
    sim = make_sim(
        dataset="bench",
        dataset_options={"with_values": False, "depth": 2, "width": 5, "data_elements": 10},
    )
    ds = sim.metadata("dataSets")[0]
    ous = [o["id"] for o in ds["organisationUnits"]]
    cocs = [c["id"] for c in sim.metadata("categoryOptionCombos") if c["name"] != "default"]
    des = [d["dataElement"]["id"] for d in ds["dataSetElements"]]
    values = [
        dv(de=de, pe=pe, ou=ou, value=str(i % 90 + 1), categoryOptionCombo=coc)
        for i, (de, pe, ou, coc) in enumerate(
            (de, pe, ou, coc)
            for de in des
            for pe in ("202401", "202402")
            for ou in ous
            for coc in cocs
        )
    ]
    with client_for(sim) as c:
        s = summary(post(c, values))
    assert s["importCount"]["imported"] == len(values) == 10 * 2 * 25 * 4


@pytest.mark.parametrize("values", ["x", [1], [{"dataElement": ANC1}, "y"]])
@pytest.mark.parametrize(("version", "status"), [("2.37.9.1", 400), ("2.40.4.1", 409)])
def test_malformed_data_values_are_a_parse_error_not_a_crash(
    make_sim: Callable[..., Simulator], values: Any, version: str, status: int
) -> None:
    sim = make_sim(version, "demo-destination")
    with client_for(sim) as c:
        resp = c.post("/api/dataValueSets", json={"dataValues": values})
    assert resp.status_code == status
    assert "Failed to parse JSON" in resp.json()["message"]
    assert sim.data_values() == []
