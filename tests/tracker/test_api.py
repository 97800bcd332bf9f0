"""The event transfers API contract: fields, the role matrix, validation against the source
(400 with field errors), preview (200), run (202) and busy (409), resume."""

from __future__ import annotations

import httpx
import pytest
import respx
from django.contrib.auth.models import User

from connections.models import ConnectionProfile
from jobs.models import Run
from tests.conftest import ADMINS, READERS, SOURCE_PASSWORD, api_as, expected_status
from tracker.models import EventTransfer

SOURCE_API = "https://source.example.org/dhis/api"
PROGRAM, STAGE, OTHER_STAGE = "eBAyeGv0exc", "Zj7UnCAulEk", "A03MvHHogjR"
OU, OU2, FOREIGN_OU = "DiszpKrYNg8", "ImspTQPwCqd", "Xy1234567ab"
CONTRACT = {
    "id", "name", "profile", "program", "program_stage", "org_units", "ou_mode", "start_date",
    "end_date", "incremental", "mappings", "use_profile_mappings", "strip_fields",
}  # fmt: skip


def source(mock: respx.MockRouter, *, program_type: str = "WITHOUT_REGISTRATION") -> None:
    """The source DHIS2: one program with one stage; two org units exist."""
    mock.get(f"{SOURCE_API}/programs/{PROGRAM}").respond(
        json={
            "id": PROGRAM,
            "name": "Inpatient morbidity and mortality",
            "programType": program_type,
            "programStages": [{"id": STAGE, "name": "Inpatient case"}],
        }
    )
    mock.get(f"{SOURCE_API}/programs/{OTHER_STAGE}").respond(404, json={"httpStatusCode": 404})

    def org_units(request: httpx.Request) -> httpx.Response:
        known = {OU: "Ngelehun CHC", OU2: "Sierra Leone"}
        asked = request.url.params.get("filter", "")
        return httpx.Response(
            200,
            json={
                "organisationUnits": [
                    {"id": uid, "name": name} for uid, name in known.items() if uid in asked
                ]
            },
        )

    mock.get(f"{SOURCE_API}/organisationUnits").mock(side_effect=org_units)


def scope(profile: ConnectionProfile) -> dict:
    """What an event transfer reads, the same in the API body and the page form: the program
    and stage, the org units' mode and the window."""
    return {
        "profile": profile.pk,
        "program": PROGRAM,
        "program_stage": STAGE,
        "ou_mode": "DESCENDANTS",
        "start_date": "2024-01-01",
        "end_date": "2024-06-30",
    }


def body(profile: ConnectionProfile, **overrides) -> dict:
    data = {
        **scope(profile),
        "name": "Inpatient events",
        "org_units": [OU],
        "incremental": True,
        "mappings": {"data_element": {"qrur9Dvnyt5": "oZg33kd9taw"}},
        "use_profile_mappings": False,
        "strip_fields": ["notes"],
    }
    data.update(overrides)
    return data


@pytest.fixture
def transfer(profile: ConnectionProfile) -> EventTransfer:
    return EventTransfer.objects.create(
        name="Saved", profile=profile, program=PROGRAM, org_units=[OU]
    )


def test_admin_creates_one_and_gets_the_contract_fields_back(
    alice: User, profile: ConnectionProfile
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        source(mock)
        resp = api_as(alice).post("/api/v1/tracker-transfers/", body(profile), format="json")
    assert resp.status_code == 201, resp.json()
    data = resp.json()
    assert set(data) >= CONTRACT
    assert {k: data[k] for k in CONTRACT - {"id"}} == {k: v for k, v in body(profile).items()}
    saved = EventTransfer.objects.get(pk=data["id"])
    # Names the source gave are kept, so pages speak names without asking it again.
    assert saved.program_name == "Inpatient morbidity and mortality"
    assert saved.program_stage_name == "Inpatient case"
    assert saved.org_unit_names == [(OU, "Ngelehun CHC")]


@pytest.mark.parametrize(
    ("overrides", "program_type", "field"),
    [
        ({}, "WITH_REGISTRATION", "program"),
        ({"program": OTHER_STAGE}, "WITHOUT_REGISTRATION", "program"),
        ({"program_stage": OTHER_STAGE}, "WITHOUT_REGISTRATION", "program_stage"),
        (
            {"start_date": "2024-07-01", "end_date": "2024-06-30"},
            "WITHOUT_REGISTRATION",
            "end_date",
        ),
        ({"org_units": [OU, FOREIGN_OU]}, "WITHOUT_REGISTRATION", "org_units"),
        ({"org_units": ["not-a-uid"]}, "WITHOUT_REGISTRATION", "org_units"),
        ({"start_date": "July"}, "WITHOUT_REGISTRATION", "start_date"),
        ({"mappings": {"program": {"x": 1}}}, "WITHOUT_REGISTRATION", "mappings"),
        ({"mappings": "nope"}, "WITHOUT_REGISTRATION", "mappings"),
        ({"strip_fields": ["password"]}, "WITHOUT_REGISTRATION", "strip_fields"),
        ({"ou_mode": "ALL"}, "WITHOUT_REGISTRATION", "ou_mode"),
        ({"org_units": [], "ou_mode": "SELECTED"}, "WITHOUT_REGISTRATION", "org_units"),
    ],
)
def test_bad_input_is_a_field_error(
    alice: User, profile: ConnectionProfile, overrides: dict, program_type: str, field: str
) -> None:
    with respx.mock(assert_all_called=False) as mock:
        source(mock, program_type=program_type)
        resp = api_as(alice).post(
            "/api/v1/tracker-transfers/", body(profile, **overrides), format="json"
        )
    assert resp.status_code == 400, resp.content
    assert field in resp.json(), resp.json()
    assert not EventTransfer.objects.exists()


def test_a_source_that_cannot_be_reached_is_a_non_field_error(
    alice: User, profile: ConnectionProfile
) -> None:
    with respx.mock() as mock:
        mock.get(url__startswith=SOURCE_API).mock(side_effect=httpx.ConnectError("refused"))
        resp = api_as(alice).post("/api/v1/tracker-transfers/", body(profile), format="json")
    assert resp.status_code == 400
    [message] = resp.json()["non_field_errors"]
    assert "Source HMIS" in message and SOURCE_PASSWORD not in message


@pytest.mark.parametrize(
    ("method", "path", "payload", "allowed", "ok"),
    [
        ("get", "/api/v1/tracker-transfers/", None, READERS, 200),
        ("get", "/api/v1/tracker-transfers/{pk}/", None, READERS, 200),
        ("post", "/api/v1/tracker-transfers/", "new", ADMINS, 201),
        ("patch", "/api/v1/tracker-transfers/{pk}/", {"incremental": True}, ADMINS, 200),
        ("delete", "/api/v1/tracker-transfers/{pk}/", None, ADMINS, 204),
        ("post", "/api/v1/tracker-transfers/{pk}/run/", {"dry_run": True}, READERS, 202),
        ("get", "/api/v1/tracker-errors/", None, READERS, 200),
    ],
)
def test_role_matrix(
    actors: dict, transfer: EventTransfer, method: str, path: str, payload, allowed, ok
) -> None:
    for actor, user in actors.items():
        data = body(transfer.profile, name=f"New {actor}") if payload == "new" else payload
        with respx.mock(assert_all_called=False) as mock:
            source(mock)
            resp = getattr(api_as(user), method)(path.format(pk=transfer.pk), data, format="json")
        assert resp.status_code == expected_status(actor, allowed, ok), (actor, resp.content)
        Run.objects.all().delete()  # the next actor's run is not busy
        if method == "delete" and resp.status_code == 204:
            transfer.save(force_insert=True)


def test_run_is_202_then_409_while_active_and_operators_cannot_change_it(
    bob: User, transfer: EventTransfer
) -> None:
    first = api_as(bob).post(f"/api/v1/tracker-transfers/{transfer.pk}/run/", {}, format="json")
    assert first.status_code == 202
    run = Run.objects.get(pk=first.json()["run"])
    assert run.kind == "event_transfer" and run.target == f"event_transfer:{transfer.pk}"
    assert run.params == {"event_transfer_id": transfer.pk, "dry_run": False}
    busy = api_as(bob).post(
        f"/api/v1/tracker-transfers/{transfer.pk}/run/", {"dry_run": True}, format="json"
    )
    assert busy.status_code == 409
    assert busy.json()["run"] == busy.json()["active_run"] == run.pk
    change = api_as(bob).patch(
        f"/api/v1/tracker-transfers/{transfer.pk}/", {"name": "x"}, format="json"
    )
    assert change.status_code == 403


def test_resume_checks_the_run(alice: User, transfer: EventTransfer) -> None:
    url = f"/api/v1/tracker-transfers/{transfer.pk}/resume/"
    assert api_as(alice).post(url, {"run": 999}, format="json").status_code == 400
    ok_run = Run.objects.create(
        kind="event_transfer",
        params={"event_transfer_id": transfer.pk, "dry_run": False},
        status=Run.Status.SUCCEEDED,
        trigger="api",
    )
    resp = api_as(alice).post(url, {"run": ok_run.pk}, format="json")
    assert resp.status_code == 400 and "succeeded" in resp.json()["run"][0]
    Run.objects.filter(pk=ok_run.pk).update(status=Run.Status.FAILED)
    resumed = api_as(alice).post(url, {"run": ok_run.pk}, format="json")
    assert resumed.status_code == 202
    assert Run.objects.get(pk=resumed.json()["run"]).params["resume_of"] == ok_run.pk


def test_preview_counts_per_org_unit_with_names(bob: User, transfer: EventTransfer) -> None:
    with respx.mock(assert_all_called=False) as mock:
        mock.get(f"{SOURCE_API}/system/info").respond(
            json={"version": "2.41.0", "serverDate": "2024-07-15T10:00:00.000"}
        )
        events = mock.get(f"{SOURCE_API}/tracker/events")
        events.side_effect = [
            httpx.Response(200, json={"pager": {"page": 1, "pageSize": 1, "total": 7}}),
            httpx.Response(
                200,
                json={
                    "events": [
                        {
                            "event": "ZwwuwNp6gVd",
                            "orgUnit": OU,
                            "occurredAt": "2024-03-01T00:00:00.000",
                            "status": "COMPLETED",
                            "dataValues": [{"dataElement": "qrur9Dvnyt5", "value": "34"}],
                        }
                    ]
                },
            ),
        ]
        mock.get(f"{SOURCE_API}/dataElements").respond(
            json={"dataElements": [{"id": "qrur9Dvnyt5", "name": "Age in years"}]}
        )
        mock.get(f"{SOURCE_API}/organisationUnits").respond(
            json={"organisationUnits": [{"id": OU, "name": "Ngelehun CHC"}]}
        )
        resp = api_as(bob).post(f"/api/v1/tracker-transfers/{transfer.pk}/preview/")
    assert resp.status_code == 200, resp.content
    data = resp.json()
    assert data["count"] == 7
    assert data["by_org_unit"] == [{"id": OU, "name": "Ngelehun CHC", "count": 7}]
    assert data["sample"][0]["values"] == {"Age in years": "34"}
    assert data["sample"][0]["org_unit_name"] == "Ngelehun CHC"


def test_preview_of_an_unreachable_source_is_a_502_with_a_message(
    bob: User, transfer: EventTransfer
) -> None:
    with respx.mock() as mock:
        mock.get(url__startswith=SOURCE_API).mock(side_effect=httpx.ConnectError("refused"))
        resp = api_as(bob).post(f"/api/v1/tracker-transfers/{transfer.pk}/preview/")
    assert resp.status_code == 502 and resp.json()["detail"]
