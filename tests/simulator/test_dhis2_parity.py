"""Where real clients look, the simulator answers as DHIS2 does (issue 8, point 6).

Expected values come from DHIS2's sources at the release tags (``core@<tag>``) and from the
recorded bodies in ``tests/fixtures/dhis2/``, not from the simulator's code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from simulator import Simulator
from tests.samples import load_sample
from tests.simulator.helpers import AGE, FAC, PROGRAM, RCH, ROOT, STAGE, client_for


def _tracker_import(c: httpx.Client, event: dict[str, Any]) -> None:
    r = c.post("/api/tracker", params={"async": "false"}, json={"events": [event]})
    assert r.status_code == 200, r.text


# --- event dates are timestamps -------------------------------------------------------------


@pytest.mark.parametrize("version", ["2.38.7", "2.40.4.1", "2.41.0.1", "2.42.1"])
def test_tracker_event_dates_read_back_as_timestamps(
    make_sim: Callable[..., Simulator], version: str
) -> None:
    sample = load_sample("tracker-events-get-pager.docs-2.41.json")["events"][0]
    assert sample["occurredAt"] == "2023-02-13T00:00:00.000"  # the form DHIS2 returns
    with client_for(make_sim(version)) as c:
        _tracker_import(
            c,
            {
                "event": "EvtDates001",
                "program": PROGRAM,
                "programStage": STAGE,
                "orgUnit": FAC,
                "status": "COMPLETED",
                "occurredAt": "2024-06-30",
                "scheduledAt": "2024-06-29T08:30:00",
                "completedAt": "2024-07-01T10:00:00.000+02:00",
                "dataValues": [{"dataElement": AGE, "value": "4"}],
            },
        )
        one = c.get("/api/tracker/events/EvtDates001").json()
        listed = c.get("/api/tracker/events", params={"program": PROGRAM, "orgUnit": FAC}).json()
    items = listed.get("events") or listed.get("instances")
    [in_list] = [e for e in items if e["event"] == "EvtDates001"]
    for body in (one, in_list):
        assert body["occurredAt"] == "2024-06-30T00:00:00.000"
        assert body["scheduledAt"] == "2024-06-29T08:30:00.000"
        assert body["completedAt"] == "2024-07-01T08:00:00.000"  # server time zone is UTC


def test_legacy_event_dates_read_back_as_timestamps(sim: Simulator) -> None:
    sample = load_sample("events-legacy-get-pager.android-fixture.json")["events"][0]
    assert sample["eventDate"] == "2018-02-27T00:00:00.000"
    with client_for(sim) as c:
        r = c.post(
            "/api/events",
            json={
                "event": "EvtLegacy01",
                "program": PROGRAM,
                "programStage": STAGE,
                "orgUnit": FAC,
                "status": "COMPLETED",
                "eventDate": "2024-06-30",
                "dueDate": "2024-06-28",
                "completedDate": "2024-07-02",
                "dataValues": [{"dataElement": AGE, "value": "4"}],
            },
        )
        assert r.status_code == 200, r.text
        one = c.get("/api/events/EvtLegacy01").json()
        listed = c.get("/api/events", params={"event": "EvtLegacy01"}).json()["events"]
    for body in (one, listed[0]):
        assert body["eventDate"] == "2024-06-30T00:00:00.000"
        assert body["dueDate"] == "2024-06-28T00:00:00.000"
        assert body["completedDate"] == "2024-07-02T00:00:00.000"


# --- single events ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "message"),
    [
        # WebMessageUtils.notFound in TrackerEventsExportController (core@2.36.0, core@2.37.0)
        ("2.36.13.2", "Event not found for ID EvtMissing1"),
        # webapi.controller.exception.NotFoundException("Event", uid) (core@2.38.0, 2.39.0)
        ("2.38.7", "Event not found for uid: EvtMissing1"),
        # feedback.NotFoundException(Event.class, uid) (core@2.40.0 ... 2.42.0)
        ("2.40.4.1", "Event with id EvtMissing1 could not be found."),
        ("2.42.1", "Event with id EvtMissing1 could not be found."),
    ],
)
def test_tracker_single_event(
    make_sim: Callable[..., Simulator], version: str, message: str
) -> None:
    with client_for(make_sim(version)) as c:
        _tracker_import(
            c,
            {
                "event": "EvtSingle01",
                "program": PROGRAM,
                "programStage": STAGE,
                "orgUnit": FAC,
                "occurredAt": "2024-06-30",
            },
        )
        one = c.get("/api/tracker/events/EvtSingle01")
        missing = c.get("/api/tracker/events/EvtMissing1")
    assert one.status_code == 200
    body = one.json()
    assert (body["event"], body["program"], body["programStage"], body["orgUnit"]) == (
        "EvtSingle01",
        PROGRAM,
        STAGE,
        FAC,
    )
    assert "pager" not in body and "instances" not in body
    assert missing.status_code == 404
    assert missing.json()["message"] == message


def test_legacy_single_event_and_its_404(make_sim: Callable[..., Simulator]) -> None:
    with client_for(make_sim("2.39.5")) as c:
        missing = c.get("/api/events/EvtMissing1")
    assert missing.status_code == 404
    # EventController.getEvent (core@2.40.0:.../webapi/controller/event/EventController.java)
    assert missing.json()["message"] == "Event not found for ID EvtMissing1"
    with client_for(make_sim("2.42.1")) as c:
        assert c.get("/api/events/EvtMissing1").status_code == 404  # /api/events removed


def test_deleted_event_is_not_found(sim: Simulator) -> None:
    with client_for(sim) as c:
        event = {
            "event": "EvtDelete01",
            "program": PROGRAM,
            "programStage": STAGE,
            "orgUnit": FAC,
            "occurredAt": "2024-06-30",
        }
        _tracker_import(c, event)
        r = c.post(
            "/api/tracker",
            params={"async": "false", "importStrategy": "DELETE"},
            json={"events": [{"event": "EvtDelete01"}]},
        )
        assert r.status_code == 200, r.text
        assert c.get("/api/tracker/events/EvtDelete01").status_code == 404


# --- properties DHIS2 always writes ----------------------------------------------------------


def test_data_set_always_has_its_flags(client: httpx.Client) -> None:
    sample = load_sample("dataSet-object.android-fixture.json")
    wanted = ["mobile", "fieldCombinationRequired", "validCompleteOnly", "noValueRequiresComment"]
    assert all(sample[k] is False for k in wanted)
    body = client.get(f"/api/dataSets/{RCH}", params={"fields": ",".join(wanted)}).json()
    assert body == dict.fromkeys(wanted, False)
    star = client.get(f"/api/dataSets/{RCH}", params={"fields": "*"}).json()
    owner = client.get(f"/api/dataSets/{RCH}", params={"fields": ":owner"}).json()
    # boolean/int fields of DataSet.java, never null (core@2.36.0 ... core@2.42.0)
    for body in (star, owner):
        assert body["skipOffline"] is False and body["renderAsTabs"] is False
        assert body["openPeriodsAfterCoEndDate"] == 0
        assert body["compulsoryFieldsCompleteOnly"] is False


def test_program_stage_always_has_its_settings(client: httpx.Client) -> None:
    fields = "autoGenerateEvent,blockEntryForm,featureType,validationStrategy,minDaysFromStart"
    body = client.get(f"/api/programStages/{STAGE}", params={"fields": fields}).json()
    # ProgramStage.java: Boolean autoGenerateEvent = true, blockEntryForm = false,
    # ValidationStrategy.ON_COMPLETE, int minDaysFromStart
    assert body == {
        "autoGenerateEvent": True,
        "blockEntryForm": False,
        "featureType": "NONE",
        "validationStrategy": "ON_COMPLETE",
        "minDaysFromStart": 0,
    }
    listed = client.get(
        "/api/programs",
        params={
            "fields": "id,programType,registration,withoutRegistration,"
            "programStages[id,repeatable,autoGenerateEvent]"
        },
    ).json()["programs"]
    [program] = [p for p in listed if p["id"] == PROGRAM]
    assert program["programType"] == "WITHOUT_REGISTRATION"
    assert program["registration"] is False and program["withoutRegistration"] is True
    assert program["programStages"] == [
        {"id": STAGE, "repeatable": False, "autoGenerateEvent": True}
    ]


def test_org_units_have_leaf(client: httpx.Client) -> None:
    body = client.get(
        "/api/organisationUnits", params={"fields": "id,leaf,children~size", "paging": "false"}
    ).json()["organisationUnits"]
    by_id = {o["id"]: o for o in body}
    assert by_id[ROOT]["leaf"] is False and by_id[FAC]["leaf"] is True
    assert all(o["leaf"] is (o["children"] == 0) for o in body)
    # computed, so not among the owner properties
    assert (
        "leaf"
        not in client.get(f"/api/organisationUnits/{FAC}", params={"fields": ":owner"}).json()
    )


def test_data_elements_and_option_combos_flags(client: httpx.Client) -> None:
    de = client.get(
        f"/api/dataElements/{AGE}", params={"fields": "zeroIsSignificant,optionSetValue"}
    ).json()
    assert de == {"zeroIsSignificant": False, "optionSetValue": False}
    cocs = client.get(
        "/api/categoryOptionCombos", params={"fields": "id,ignoreApproval", "paging": "false"}
    ).json()["categoryOptionCombos"]
    assert cocs and all(c["ignoreApproval"] is False for c in cocs)


def test_stored_value_wins_over_the_default(sim: Simulator) -> None:
    with client_for(sim) as c:
        r = c.post(
            "/api/metadata",
            json={
                "dataSets": [
                    {
                        "id": "DsMobile001",
                        "name": "Mobile set",
                        "shortName": "Mobile set",
                        "periodType": "Monthly",
                        "mobile": True,
                    }
                ]
            },
        )
        assert r.status_code == 200, r.text
        body = c.get("/api/dataSets/DsMobile001", params={"fields": "mobile,validCompleteOnly"})
    assert body.json() == {"mobile": True, "validCompleteOnly": False}
