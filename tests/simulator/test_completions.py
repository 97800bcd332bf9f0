"""/api/completeDataSetRegistrations."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from simulator import Simulator
from tests.samples import load_sample
from tests.simulator.helpers import FAC, FAC2, RCH, ROOT, assert_shape, client_for


def _body(*periods: str, ou: str = FAC) -> dict[str, object]:
    return {
        "completeDataSetRegistrations": [
            {
                "dataSet": RCH,
                "period": p,
                "organisationUnit": ou,
                "attributeOptionCombo": "HllvX50cXC0",
                "completed": True,
            }
            for p in periods
        ]
    }


def test_post_get_delete_cycle(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(dataset="demo-destination")
    with client_for(sim) as c:
        r = c.post("/api/completeDataSetRegistrations", json=_body("202404", "202405"))
        assert r.status_code == 200 and r.json()["message"] == "Import was successful."
        assert r.json()["response"]["importCount"] == {
            "imported": 2,
            "updated": 0,
            "ignored": 0,
            "deleted": 0,
        }
        again = c.post("/api/completeDataSetRegistrations", json=_body("202405"))
        assert again.json()["response"]["importCount"]["updated"] == 1
        got = c.get(
            "/api/completeDataSetRegistrations",
            params={
                "dataSet": RCH,
                "startDate": "2024-01-01",
                "endDate": "2024-12-31",
                "orgUnit": FAC,
            },
        ).json()
        sample = load_sample("completeDataSetRegistrations-get.android-fixture.json")
        assert_shape(got, sample, ignore=("completed", "lastUpdated", "lastUpdatedBy"))
        assert sorted(x["period"] for x in got["completeDataSetRegistrations"]) == [
            "202404",
            "202405",
        ]
        r = c.delete(
            "/api/completeDataSetRegistrations", params={"ds": RCH, "pe": "202405", "ou": FAC}
        )
        assert r.status_code == 204 and r.content == b""
        assert [x["period"] for x in sim.completions()] == ["202404"]


def test_conflicts_and_bare_summary_on_237(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim("2.37.9.1", dataset="demo-destination")
    with client_for(sim) as c:
        r = c.post("/api/completeDataSetRegistrations", json=_body("202405", "2024XX", ou="nope"))
        assert r.status_code == 200 and "httpStatusCode" not in r.json()
        assert r.json()["status"] == "WARNING"
        assert r.json()["conflicts"] == [
            {"object": "nope", "value": "Organisation unit not found or not accessible"},
            {"object": "2024XX", "value": "Period not valid"},
        ]
        assert r.json()["importCount"]["ignored"] == 2


def test_delete_errors_and_locked(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(
        dataset="demo-destination",
        users={"clerk": {"password": "Clerk1234", "authorities": ["F_DATAVALUE_ADD"]}},
        dataset_options={"expiry_days": {RCH: 10}},
    )
    with client_for(sim, auth=("clerk", "Clerk1234")) as c:
        r = c.delete(
            "/api/completeDataSetRegistrations", params={"ds": RCH, "pe": "2024M1", "ou": FAC}
        )
        assert r.status_code == 409 and r.json()["message"] == "Illegal period identifier: 2024M1"
        r = c.delete(
            "/api/completeDataSetRegistrations", params={"ds": "nope", "pe": "202401", "ou": FAC}
        )
        assert r.status_code == 409
        r = c.delete(
            "/api/completeDataSetRegistrations", params={"ds": RCH, "pe": "202401", "ou": FAC}
        )
        assert r.status_code == 409 and r.json()["message"].startswith("Locked Data set(s) : ")
        ok = c.post("/api/completeDataSetRegistrations", json=_body("202407", ou=FAC2))
        assert ok.status_code == 200


def test_get_requires_parameters(client: httpx.Client) -> None:
    r = client.get("/api/completeDataSetRegistrations", params={"period": "202405"})
    assert r.status_code == 409
    r = client.get(
        "/api/completeDataSetRegistrations",
        params={
            "dataSet": RCH,
            "period": "202405",
            "orgUnit": ROOT,
            "children": "true",
        },
    )
    assert r.status_code == 200 and r.json()["completeDataSetRegistrations"]
