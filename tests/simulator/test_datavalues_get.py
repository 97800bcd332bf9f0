"""GET /api/dataValueSets: parameters, errors and shapes per version."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from simulator import Simulator
from simulator.datasets import DEMO
from tests.samples import load_sample
from tests.simulator.helpers import ANC1, FAC, NORTH, RCH, ROOT, assert_shape, client_for


def _slice(client: httpx.Client, **extra: object) -> httpx.Response:
    params = {"dataSet": RCH, "period": "202405", "orgUnit": FAC, **extra}
    return client.get("/api/dataValueSets", params=params)


@pytest.mark.parametrize(
    ("version", "sample", "comment"),
    [
        ("2.36.13.2", "dataValueSets-get-dataSet-period-orgUnit-2.36.json", ""),
        ("2.40.4.1", "dataValueSets-get-dataSet-period-orgUnit-2.40.json", None),
    ],
)
def test_single_set_header_and_values_match_recording(
    make_sim: Callable[..., Simulator], version: str, sample: str, comment: str | None
) -> None:
    sim = make_sim(version)
    with client_for(sim) as c:
        r = c.get(
            "/api/dataValueSets.json", params={"dataSet": RCH, "period": "202405", "orgUnit": FAC}
        )
    body = r.json()
    expected = load_sample(sample)
    assert list(body) == list(expected)  # dataSet, completeDate, period, orgUnit, dataValues
    plain = [v for v in body["dataValues"] if v["comment"] in ("", None)]
    assert plain, "need a value without comment"
    assert_shape({**body, "dataValues": plain}, expected)
    assert all(v["comment"] == comment for v in plain)
    assert all(isinstance(v["value"], str) for v in body["dataValues"])
    assert list(body["dataValues"][0]) == list(expected["dataValues"][0])
    assert body["dataValues"][0]["created"].endswith("+0000")


def test_no_header_for_ranges_and_element_queries(make_sim: Callable[..., Simulator]) -> None:
    with client_for(make_sim("2.41.0.1")) as c:
        body = c.get(
            "/api/dataValueSets",
            params={"dataElement": ANC1, "period": "202405", "orgUnit": ROOT, "children": "true"},
        ).json()
    sample = load_sample("dataValueSets-get-dataElement-period-2.41.json")
    assert_shape(body, sample)
    assert {v["dataElement"] for v in body["dataValues"]} == {ANC1}
    assert len(body["dataValues"]) > 20  # descendants included


def test_start_end_dates(client: httpx.Client) -> None:
    body = client.get(
        "/api/dataValueSets",
        params={
            "dataSet": RCH,
            "startDate": "2024-03-01",
            "endDate": "2024-05-31",
            "orgUnit": FAC,
        },
    ).json()
    assert_shape(body, load_sample("dataValueSets-get-startDate-endDate-2.40.json"))
    assert {v["period"] for v in body["dataValues"]} == {"202403", "202404", "202405"}


def test_empty_result(client: httpx.Client) -> None:
    body = _slice(client, period="201901", dataSet=[RCH, DEMO["dataSets"]["IDSR Weekly"]]).json()
    assert body == load_sample("dataValueSets-get-empty.android-fixture.json")


def test_children_and_limit(client: httpx.Client) -> None:
    without = client.get(
        "/api/dataValueSets", params={"dataSet": RCH, "period": "202405", "orgUnit": NORTH}
    ).json()
    assert without["dataValues"] == []
    body = client.get(
        "/api/dataValueSets",
        params={"dataSet": RCH, "period": "202405", "orgUnit": NORTH, "children": "true"},
    ).json()
    assert "dataSet" not in body and len(body["dataValues"]) > 100
    limited = client.get(
        "/api/dataValueSets",
        params={
            "dataSet": RCH,
            "period": "202405",
            "orgUnit": NORTH,
            "children": "true",
            "limit": 7,
        },
    ).json()
    assert len(limited["dataValues"]) == 7


def test_include_deleted_and_last_updated(sim: Simulator, client: httpx.Client) -> None:
    deleted = [v for v in sim.data_values(include_deleted=True) if v["deleted"]]
    assert deleted
    d = deleted[0]
    params = {"dataElement": d["dataElement"], "period": d["period"], "orgUnit": d["orgUnit"]}
    normal = client.get("/api/dataValueSets", params=params).json()["dataValues"]
    assert all("deleted" not in v for v in normal)
    assert not any(
        v["categoryOptionCombo"] == d["categoryOptionCombo"]
        and v["attributeOptionCombo"] == d["attributeOptionCombo"]
        for v in normal
    )
    with_deleted = client.get(
        "/api/dataValueSets", params={**params, "includeDeleted": "true"}
    ).json()["dataValues"]
    assert any(v["deleted"] is True for v in with_deleted)
    assert all(isinstance(v["deleted"], bool) for v in with_deleted)
    recent = client.get(
        "/api/dataValueSets",
        params={"dataSet": RCH, "orgUnit": ROOT, "children": "true", "lastUpdated": "2024-07-01"},
    ).json()
    assert all(v["lastUpdated"] >= "2024-07-01" for v in recent["dataValues"])
    assert len(recent["dataValues"]) < len(
        client.get(
            "/api/dataValueSets",
            params={
                "dataSet": RCH,
                "orgUnit": ROOT,
                "children": "true",
                "lastUpdated": "2024-01-01",
            },
        ).json()["dataValues"]
    )
    assert client.get(
        "/api/dataValueSets", params={"dataSet": RCH, "orgUnit": ROOT, "lastUpdatedDuration": "1d"}
    ).json() == {"dataValues": []}


def test_output_id_schemes(client: httpx.Client) -> None:
    body = _slice(client, idScheme="CODE").json()
    assert body["dataSet"] == "DS_RCH"
    assert body["orgUnit"].startswith("OU_")
    assert {"DE_ANC1", "DE_MAL_CONF"} & {v["dataElement"] for v in body["dataValues"]}
    names = _slice(client, dataElementIdScheme="NAME").json()
    assert "ANC 1st visit" in {v["dataElement"] for v in names["dataValues"]}
    assert names["orgUnit"] == FAC  # only the element scheme changed


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        (
            {"period": "202405", "orgUnit": FAC},
            "E2001",
            "At least one data element, data set or data element group must be specified",
        ),
        (
            {"dataSet": "nope", "period": "202405", "orgUnit": FAC},
            "E2001",
            "At least one data element, data set or data element group must be specified",
        ),
        (
            {"dataSet": RCH, "orgUnit": FAC},
            "E2002",
            "At least one period, start/end dates, last updated or last updated duration must be "
            "specified",
        ),
        (
            {"dataSet": RCH, "startDate": "2024-05-01", "endDate": "2024-01-01", "orgUnit": FAC},
            "E2004",
            "Start date must be before end date",
        ),
        (
            {"dataSet": RCH, "lastUpdatedDuration": "x1", "orgUnit": FAC},
            "E2005",
            "Duration is not valid: `x1`",
        ),
        (
            {"dataSet": RCH, "period": "202405"},
            "E2006",
            "At least one organisation unit or organisation unit group must be specified",
        ),
        (
            {"dataSet": RCH, "period": "202405", "orgUnit": FAC, "limit": "-1"},
            "E2009",
            "Limit cannot be less than zero: `-1`",
        ),
    ],
)
def test_required_parameter_errors(
    client: httpx.Client, params: dict[str, str], code: str, message: str
) -> None:
    r = client.get("/api/dataValueSets", params=params)
    assert r.status_code == 409
    assert r.json() == {
        "httpStatus": "Conflict",
        "httpStatusCode": 409,
        "status": "ERROR",
        "message": message,
        "errorCode": code,
    }


def test_org_unit_outside_user_hierarchy(make_sim: Callable[..., Simulator]) -> None:
    south = DEMO["organisationUnits"]["Southern Region"]
    sim = make_sim(
        users={
            "south": {
                "password": "Pw123456",
                "authorities": ["F_DATAVALUE_ADD"],
                "organisationUnits": [south],
            }
        }
    )
    with client_for(sim, auth=("south", "Pw123456")) as c:
        r = _slice(c)
        assert r.status_code == 409 and r.json()["errorCode"] == "E2012"
        assert r.json()["message"] == f"User is not allowed to view org unit: `{FAC}`"
        ok = c.get(
            "/api/dataValueSets",
            params={"dataSet": RCH, "period": "202405", "orgUnit": south, "children": "true"},
        )
        assert ok.status_code == 200 and ok.json()["dataValues"]
