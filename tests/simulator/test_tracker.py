"""Event programs: legacy /api/events and the new tracker API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simulator import Simulator
from tests.samples import load_sample
from tests.simulator.helpers import (
    ACT,
    AGE,
    FAC,
    NORTH,
    PROGRAM,
    ROOT,
    STAGE,
    assert_shape,
    client_for,
    poll_until,
)


def _event(uid: str = "EvtSim00001", **kw: Any) -> dict[str, Any]:
    return {
        "event": uid,
        "program": PROGRAM,
        "programStage": STAGE,
        "orgUnit": FAC,
        "status": "COMPLETED",
        "occurredAt": "2024-07-01T00:00:00.000",
        "dataValues": [{"dataElement": AGE, "value": "31"}, {"dataElement": ACT, "value": "true"}],
        **kw,
    }


def _legacy(uid: str = "EvtSim00001", **kw: Any) -> dict[str, Any]:
    ev = _event(uid)
    ev["eventDate"] = ev.pop("occurredAt")
    ev.update(kw)
    return ev


@pytest.mark.parametrize(
    ("version", "pager_keys"),
    [
        ("2.36.13.2", ["page", "total", "pageSize", "pageCount"]),
        ("2.38.7", ["page", "pageSize", "isLastPage"]),
        ("2.40.4.1", ["page", "pageSize", "isLastPage"]),
        ("2.41.0.1", ["page", "pageSize", "isLastPage"]),
    ],
)
def test_legacy_events_pager_by_version(
    make_sim: Callable[..., Simulator], version: str, pager_keys: list[str]
) -> None:
    with client_for(make_sim(version)) as c:
        body = c.get(
            "/api/events",
            params={"program": PROGRAM, "orgUnit": ROOT, "ouMode": "DESCENDANTS", "page": 2},
        ).json()
        assert list(body["pager"]) == pager_keys
        assert len(body["events"]) == 50
        if version.startswith("2.36"):
            assert body["pager"]["page"] == 1 and body["pager"]["total"] == 0  # clamped
        else:
            assert body["pager"] == {"page": 2, "pageSize": 50, "isLastPage": False}
        full = c.get(
            "/api/events",
            params={
                "program": PROGRAM,
                "orgUnit": ROOT,
                "ouMode": "DESCENDANTS",
                "totalPages": "true",
                "pageSize": 100,
                "page": 3,
            },
        ).json()
        sample = load_sample("events-legacy-get-pager.android-fixture.json")
        assert set(sample["pager"]) <= set(full["pager"])
        assert full["pager"]["total"] == 300 and full["pager"]["pageCount"] == 3
        event = full["events"][0]
        for key in (
            "event",
            "program",
            "programStage",
            "orgUnit",
            "status",
            "eventDate",
            "dueDate",
            "created",
            "lastUpdated",
            "attributeOptionCombo",
            "deleted",
            "dataValues",
            "notes",
        ):
            assert key in event and key in sample["events"][0]
        assert set(event["dataValues"][0]) == set(sample["events"][0]["dataValues"][0])
        skip = c.get(
            "/api/events",
            params={
                "program": PROGRAM,
                "orgUnit": ROOT,
                "ouMode": "DESCENDANTS",
                "skipPaging": "true",
            },
        ).json()
        assert set(skip) == {"events"} and len(skip["events"]) == 300


def test_legacy_events_removed_in_242(make_sim: Callable[..., Simulator]) -> None:
    with client_for(make_sim("2.42.1")) as c:
        assert c.get("/api/events", params={"program": PROGRAM}).status_code == 404
        assert c.post("/api/events", json={"events": []}).status_code == 404


def test_legacy_post_create_update_and_409(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(dataset="demo-destination")
    with client_for(sim) as c:
        r = c.post("/api/events", json={"events": [_legacy()]})
        assert r.status_code == 200 and r.json()["response"]["imported"] == 1
        r = c.post(
            "/api/events",
            json={
                "events": [
                    _legacy(),
                    _legacy("EvtSim00002", program="NoProgram1"),
                    _legacy("EvtSim00003", dataValues=[{"dataElement": AGE, "value": "old"}]),
                ]
            },
        )
        assert r.status_code == 409
        body = r.json()
        sample = load_sample("events-legacy-post-409-importSummaries-partial.android-fixture.json")
        assert_shape(body, sample, ignore=("importOptions", "conflicts", "description"))
        assert body["status"] == "ERROR"
        assert body["message"] == "An error occurred, please check import summary."
        s = body["response"]
        assert (s["imported"], s["updated"], s["ignored"], s["total"]) == (0, 1, 2, 3)
        assert s["importSummaries"][1]["description"] == (
            "Event.program does not point to a valid program: NoProgram1"
        )
        assert s["importSummaries"][2]["conflicts"] == [
            {"object": AGE, "value": "value_not_zero_or_positive_integer"}
        ]
    assert len(sim.events()) == 1  # updated, not duplicated


@pytest.mark.parametrize(
    ("version", "sample"),
    [
        ("2.40.4.1", "tracker-events-get-instances-lt-2.41.android-fixture.json"),
        ("2.41.0.1", "tracker-events-get-pager-events-2.41.android-fixture.json"),
    ],
)
def test_tracker_events_shape_by_version(
    make_sim: Callable[..., Simulator], version: str, sample: str
) -> None:
    with client_for(make_sim(version)) as c:
        body = c.get(
            "/api/tracker/events",
            params={"program": PROGRAM, "orgUnit": ROOT, "orgUnitMode": "DESCENDANTS"},
        ).json()
    expected = load_sample(sample)
    assert list(body) == list(expected)
    assert body["pageSize"] == 50 and len(body[list(body)[-1]]) == 50
    event = body[list(body)[-1]][0]
    docs = load_sample("tracker-events-get-pager.docs-2.41.json")["events"][0]
    assert (
        {
            "event",
            "program",
            "programStage",
            "orgUnit",
            "occurredAt",
            "scheduledAt",
            "dataValues",
            "createdAt",
            "updatedAt",
            "status",
        }
        <= set(event)
        <= set(docs) | {"completedAt", "storedBy"}
    )


def test_tracker_events_242_pager_links_and_paging_false(
    make_sim: Callable[..., Simulator],
) -> None:
    with client_for(make_sim("2.42.1")) as c:
        params = {
            "program": PROGRAM,
            "orgUnit": ROOT,
            "orgUnitMode": "DESCENDANTS",
            "pageSize": 100,
            "page": 2,
        }
        body = c.get("/api/tracker/events", params=params).json()
        assert set(body) == {"pager", "events"}
        assert set(body["pager"]) == {"page", "pageSize", "prevPage", "nextPage"}
        totals = c.get(
            "/api/tracker/events", params={**params, "totalPages": "true", "page": 3}
        ).json()
        assert totals["pager"]["total"] == 300 and "nextPage" not in totals["pager"]
        unpaged = c.get("/api/tracker/events", params={**params, "paging": "false"}).json()
        assert set(unpaged) == {"events"} and len(unpaged["events"]) == 300


def _wait_report(c: httpx.Client, job_id: str) -> dict[str, Any]:
    def report() -> dict[str, Any] | None:
        r = c.get(f"/api/tracker/jobs/{job_id}/report")
        return r.json() if r.status_code == 200 else None

    return poll_until(report, "tracker job", attempts=300)


@pytest.mark.parametrize(
    ("version", "sample"),
    [
        ("2.40.4.1", "tracker-post-async-job-added-2.38-2.40.android-fixture.json"),
        ("2.41.0.1", "tracker-post-async-job-added-2.41.docs.json"),
    ],
)
def test_tracker_async_import(
    make_sim: Callable[..., Simulator], version: str, sample: str
) -> None:
    sim = make_sim(version, dataset="demo-destination", tracker_job_delay=0.15)
    with client_for(sim) as c:
        r = c.post("/api/tracker", json={"events": [_event()]})
        body = r.json()
        assert_shape(body, load_sample(sample))
        job_id = body["response"]["id"]
        assert body["response"]["location"] == f"http://sim.local/api/tracker/jobs/{job_id}"
        early = c.get(f"/api/tracker/jobs/{job_id}/report")
        assert early.status_code == 404
        assert c.get(f"/api/tracker/jobs/{job_id}").json() == []
        assert sim.events() == []
        report = _wait_report(c, job_id)
        assert_shape(report, load_sample("tracker-jobs-report-ok.android-fixture.json"))
        assert report["stats"]["created"] == 1
        notes = c.get(f"/api/tracker/jobs/{job_id}").json()
        assert_shape(
            notes, load_sample("tracker-jobs-notifications-completed.android-fixture.json")
        )
        assert notes[0]["completed"] is True and notes[0]["message"] == (
            "Import complete with status OK, 1 created, 0 updated, 0 deleted, 0 ignored"
        )
        assert notes[-1]["dataType"] == "PARAMETERS"
        again = c.post("/api/tracker", json={"events": [_event()]}, params={"async": "false"})
        assert again.status_code == 200 and again.json()["stats"]["updated"] == 1
    assert len(sim.events()) == 1


def test_tracker_sync_validation_errors(make_sim: Callable[..., Simulator]) -> None:
    sim = make_sim(dataset="demo-destination")
    outside = NORTH
    bad = [
        _event("EvtBad00001", program="NoProgram1"),
        _event("EvtBad00002", orgUnit="NoOrgUnit01"),
        _event("EvtBad00003", programStage="NoStage0001"),
        _event("EvtBad00004", orgUnit=outside),
        _event("EvtBad00005", dataValues=[{"dataElement": "NoElement01", "value": "1"}]),
        _event("EvtBad00006", dataValues=[{"dataElement": AGE, "value": "-3"}]),
        _event("EvtBad00007", occurredAt=None),
        _event("EvtGood0001"),
    ]
    with client_for(sim) as c:
        r = c.post("/api/tracker", json={"events": bad}, params={"async": "false"})
        assert r.status_code == 409
        report = r.json()
        assert_shape(
            report, load_sample("tracker-import-report-error-validation.android-fixture.json")
        )
        assert [e["errorCode"] for e in report["validationReport"]["errorReports"]] == [
            "E1010",
            "E1011",
            "E1013",
            "E1029",
            "E1304",
            "E1302",
            "E1031",
        ]
        assert report["stats"] == {
            "created": 0,
            "updated": 0,
            "deleted": 0,
            "ignored": 8,
            "total": 8,
        }
        assert "bundleReport" not in report and sim.events() == []
        r = c.post(
            "/api/tracker", json={"events": bad}, params={"async": "false", "atomicMode": "OBJECT"}
        )
        partial = r.json()
        assert_shape(
            partial,
            load_sample("tracker-import-report-error-partial-bundleReport.android-fixture.json"),
            ignore=("stats",),
        )
        assert partial["bundleReport"]["typeReportMap"]["EVENT"]["stats"]["created"] == 1
        r = c.post(
            "/api/tracker",
            json={"events": [_event("EvtGood0001")]},
            params={"async": "false", "importStrategy": "CREATE"},
        )
        assert r.json()["validationReport"]["errorReports"][0]["errorCode"] == "E1030"
    assert [e["event"] for e in sim.events()] == ["EvtGood0001"]
