"""The transfers API contract: fields, validation (400), roles (403), run (202) and busy (409)."""

from __future__ import annotations

import pytest
import respx
from django.contrib.auth.models import User
from rest_framework.response import Response

from connections.models import ConnectionProfile
from jobs.models import Run
from tests.conftest import api_as
from tests.samples import load_sample
from transfers.models import Transfer

CONTRACT_FIELDS = {
    "id", "name", "profile", "data_set", "target_data_set", "periods", "relative_period",
    "org_units", "include_descendants", "mappings", "unmapped", "id_scheme", "import_strategy",
    "mark_complete", "incremental", "chunk_size",
}  # fmt: skip


def body(profile: ConnectionProfile, **overrides) -> dict:
    data = {
        "name": "Quarterly EPI",
        "profile": profile.pk,
        "data_set": "BfMAe6Itzgt",
        "periods": ["2024Q1"],
        "org_units": ["ImspTQPwCqd"],
        "mappings": [
            {
                "source_data_element": "fbfJHSPpUQD",
                "source_category_option_combo": "pq2XI5kz2BY",
                "target_data_element": "cYeuwXTCPkU",
                "target_category_option_combo": None,
            },
            {"source_data_element": "s46m5MS0hxu", "target_data_element": "x3Do5e7g4Qo"},
        ],
    }
    data.update(overrides)
    return data


def test_admin_creates_transfer_with_mappings(alice: User, profile: ConnectionProfile) -> None:
    resp = api_as(alice).post("/api/v1/transfers/", body(profile), format="json")
    assert resp.status_code == 201, resp.json()
    data = resp.json()
    assert set(data) >= CONTRACT_FIELDS
    assert data["unmapped"] == "send" and data["id_scheme"] == "UID"
    assert data["import_strategy"] == "CREATE_AND_UPDATE" and data["chunk_size"] == 4000
    assert data["mappings"] == [
        {
            "source_data_element": "fbfJHSPpUQD",
            "source_category_option_combo": "pq2XI5kz2BY",
            "target_data_element": "cYeuwXTCPkU",
            "target_category_option_combo": None,
        },
        {
            "source_data_element": "s46m5MS0hxu",
            "source_category_option_combo": None,
            "target_data_element": "x3Do5e7g4Qo",
            "target_category_option_combo": None,
        },
    ]
    transfer = Transfer.objects.get(name="Quarterly EPI")
    assert transfer.mappings.count() == 2


def test_update_replaces_mappings(alice: User, transfer: Transfer) -> None:
    resp = api_as(alice).patch(
        f"/api/v1/transfers/{transfer.pk}/",
        {
            "mappings": [
                {"source_data_element": "s46m5MS0hxu", "target_data_element": "x3Do5e7g4Qo"}
            ]
        },
        format="json",
    )
    assert resp.status_code == 200
    assert list(transfer.mappings.values_list("source_data_element", flat=True)) == ["s46m5MS0hxu"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"data_set": "not-a-uid"}, "data_set"),
        ({"periods": ["2024-13"]}, "periods"),
        ({"periods": ["2014W53"]}, "periods"),
        ({"periods": [], "relative_period": ""}, "periods"),
        ({"relative_period": "LAST_3_MONTHS"}, "relative_period"),
        ({"periods": [], "relative_period": "LAST_FORTNIGHT"}, "relative_period"),
        ({"periods": [], "relative_period": "LAST_N"}, "relative_period"),
        ({"org_units": []}, "org_units"),
        ({"org_units": ["nope"]}, "org_units"),
        ({"unmapped": "drop"}, "unmapped"),
        ({"id_scheme": "NAME"}, "id_scheme"),
        ({"import_strategy": "MERGE"}, "import_strategy"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"org_unit_map": {"ImspTQPwCqd": "x"}}, "org_unit_map"),
        ({"mappings": [{"source_data_element": "bad", "target_data_element": "x3Do5e7g4Qo"}]}, "mappings"),
        (
            {"mappings": [
                {"source_data_element": "s46m5MS0hxu", "target_data_element": "x3Do5e7g4Qo"},
                {"source_data_element": "s46m5MS0hxu", "target_data_element": "cYeuwXTCPkU"},
            ]},
            "mappings",
        ),
    ],
)  # fmt: skip
def test_invalid_transfer_is_400(
    alice: User, profile: ConnectionProfile, overrides: dict, field: str
) -> None:
    resp = api_as(alice).post("/api/v1/transfers/", body(profile, **overrides), format="json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()
    assert not Transfer.objects.filter(name="Quarterly EPI").exists()


def test_relative_period_with_n_is_accepted(alice: User, profile: ConnectionProfile) -> None:
    resp = api_as(alice).post(
        "/api/v1/transfers/",
        body(profile, periods=[], relative_period="last_n", relative_count=3),
        format="json",
    )
    assert resp.status_code == 201, resp.json()
    assert resp.json()["relative_period"] == "LAST_N"


@pytest.mark.parametrize("actor", ["anonymous", "charlie", "bob", "alice"])
def test_role_matrix(
    request, actor: str, transfer: Transfer, django_capture_on_commit_callbacks
) -> None:
    user = None if actor == "anonymous" else request.getfixturevalue(actor)
    client = api_as(user)
    denied = 401 if user is None else 403
    reader = actor in ("bob", "alice")
    assert client.get("/api/v1/transfers/").status_code == (200 if reader else denied)
    patch = client.patch(f"/api/v1/transfers/{transfer.pk}/", {"chunk_size": 10}, format="json")
    assert patch.status_code == (200 if actor == "alice" else denied)
    with django_capture_on_commit_callbacks(execute=False):
        run = client.post(f"/api/v1/transfers/{transfer.pk}/run/", {"dry_run": True}, format="json")
    assert run.status_code == (202 if reader else denied)
    if reader:
        created = Run.objects.get(pk=run.json()["run"])
        assert created.params == {"transfer_id": transfer.pk, "dry_run": True}
        assert created.trigger == "api" and created.target == f"transfer:{transfer.pk}"
        assert created.started_by == user
    delete = client.delete(f"/api/v1/transfers/{transfer.pk}/")
    assert delete.status_code == (204 if actor == "alice" else denied)


def test_second_run_while_active_is_409(
    bob: User, transfer: Transfer, django_capture_on_commit_callbacks
) -> None:
    client = api_as(bob)
    with django_capture_on_commit_callbacks(execute=False):
        first = client.post(f"/api/v1/transfers/{transfer.pk}/run/", {}, format="json")
        second = client.post(f"/api/v1/transfers/{transfer.pk}/run/", {}, format="json")
    assert first.status_code == 202
    assert second.status_code == 409
    assert second.json()["run"] == first.json()["run"]
    assert Run.objects.filter(target=transfer.target).count() == 1


def _run_of(transfer: Transfer, status: str) -> Run:
    """A finished run of `transfer`, started from the pages."""
    return Run.objects.create(
        kind="transfer",
        trigger="web",
        status=status,
        target=transfer.target,
        params={"transfer_id": transfer.pk},
    )


def test_resume_needs_a_failed_run_of_that_transfer(
    bob: User, transfer: Transfer, django_capture_on_commit_callbacks
) -> None:
    ok_run = _run_of(transfer, "succeeded")
    failed = _run_of(transfer, "failed")
    client = api_as(bob)

    def resume(run: int) -> Response:
        return client.post(f"/api/v1/transfers/{transfer.pk}/resume/", {"run": run}, format="json")

    assert resume(ok_run.pk).status_code == 400
    assert resume(999999).status_code == 400
    with django_capture_on_commit_callbacks(execute=False):
        resp = resume(failed.pk)
    assert resp.status_code == 202
    assert Run.objects.get(pk=resp.json()["run"]).params["resume_of"] == failed.pk


@respx.mock
def test_picker_endpoints_read_the_instance(bob: User, source_instance) -> None:
    base = "https://source.example.org/dhis/api"
    respx.get(f"{base}/dataSets").respond(
        200,
        json={"dataSets": [{"id": "BfMAe6Itzgt", "name": "Child Health", "periodType": "Monthly"}]},
    )
    respx.get(f"{base}/dataSets/BfMAe6Itzgt").respond(
        200,
        json={
            "id": "BfMAe6Itzgt", "name": "Child Health", "periodType": "Monthly",
            "categoryCombo": {"id": "bjDvmb4bfuf", "categoryOptionCombos": [{"id": "HllvX50cXC0", "name": "default"}]},
            "dataSetElements": [{"dataElement": {"id": "fbfJHSPpUQD", "name": "ANC 1st visit", "categoryCombo": {"id": "x", "categoryOptionCombos": [{"id": "pq2XI5kz2BY", "name": "Fixed"}]}}}],
            "organisationUnits": [{"id": "ImspTQPwCqd"}, {"id": "O6uvpzGd5pu"}],
        },
    )  # fmt: skip
    respx.get(f"{base}/organisationUnits").respond(
        200,
        json={
            "organisationUnits": [
                {"id": "ImspTQPwCqd", "name": "Sierra Leone", "level": 1, "path": "/ImspTQPwCqd"}
            ]
        },
    )
    client = api_as(bob)
    sets = client.get(f"/api/v1/instances/{source_instance.pk}/data-sets/?search=child")
    assert sets.status_code == 200 and sets.json()[0]["periodType"] == "Monthly"
    assert "name:ilike:child" in str(respx.calls[0].request.url).replace("%3A", ":")
    ds = client.get(f"/api/v1/instances/{source_instance.pk}/data-sets/BfMAe6Itzgt/").json()
    assert ds["dataElements"][0]["categoryOptionCombos"][0]["id"] == "pq2XI5kz2BY"
    assert ds["organisationUnitCount"] == 2
    periods = client.get(
        f"/api/v1/instances/{source_instance.pk}/data-sets/BfMAe6Itzgt/periods/?count=3"
    ).json()
    assert periods["periodType"] == "Monthly" and len(periods["periods"]) == 3
    ous = client.get(f"/api/v1/instances/{source_instance.pk}/org-units/?search=sierra")
    assert ous.json()[0]["id"] == "ImspTQPwCqd"
    assert client.get(f"/api/v1/instances/{source_instance.pk}/data-sets/bad/").status_code == 400


@respx.mock
def test_picker_dhis2_failure_is_502_with_message(bob: User, source_instance) -> None:
    respx.get("https://source.example.org/dhis/api/dataSets").respond(
        403,
        json=load_sample("webmessage-403-forbidden.docs-2.40.json"),
    )
    resp = api_as(bob).get(f"/api/v1/instances/{source_instance.pk}/data-sets/")
    assert resp.status_code == 502
    assert "permission" in resp.json()["detail"].lower()


# --- Issue 8.3: a PATCH is partial for the transfer, never for a mapping row ----------------


def row_errors(resp, n: int) -> dict:
    """The field errors DRF reports for mapping row `n` (0-based), whatever container it uses."""
    errors = resp.json()["mappings"]
    return errors[str(n)] if isinstance(errors, dict) else errors[n]


STORED = [("fbfJHSPpUQD", "", "cYeuwXTCPkU", "")]  # the `transfer` fixture's one row


def stored_rows(transfer: Transfer) -> list[tuple[str, str, str, str]]:
    return list(
        transfer.mappings.values_list(
            "source_data_element", "source_category_option_combo",
            "target_data_element", "target_category_option_combo",
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    ("row", "missing"),
    [
        # The body the generated run found (a 500 with KeyError before the fix).
        (
            {"source_category_option_combo": "", "target_data_element": "0",
             "target_category_option_combo": ""},
            {"source_data_element"},
        ),
        ({"source_data_element": "s46m5MS0hxu"}, {"target_data_element"}),
        ({"source_category_option_combo": "pq2XI5kz2BY"}, {"source_data_element", "target_data_element"}),
        ({}, {"source_data_element", "target_data_element"}),
    ],
)  # fmt: skip
def test_patch_with_incomplete_mapping_row_is_400_for_that_row(
    alice: User, transfer: Transfer, row: dict, missing: set[str]
) -> None:
    complete = {"source_data_element": "s46m5MS0hxu", "target_data_element": "x3Do5e7g4Qo"}
    resp = api_as(alice).patch(
        f"/api/v1/transfers/{transfer.pk}/", {"mappings": [complete, row]}, format="json"
    )
    assert resp.status_code == 400, resp.content
    assert row_errors(resp, 1) == {name: ["This field is required."] for name in missing}
    assert stored_rows(transfer) == STORED


def test_patch_row_reports_missing_and_invalid_fields_together(
    alice: User, transfer: Transfer
) -> None:
    row = {"target_data_element": "x" * 51, "target_category_option_combo": 7.5}
    resp = api_as(alice).patch(
        f"/api/v1/transfers/{transfer.pk}/", {"mappings": [row]}, format="json"
    )
    assert resp.status_code == 400, resp.content
    errors = row_errors(resp, 0)
    assert errors["source_data_element"] == ["This field is required."]
    assert errors["target_data_element"] == ["Ensure this field has no more than 50 characters."]
    assert set(errors) == {"source_data_element", "target_data_element"}  # 7.5 becomes "7.5"
    assert stored_rows(transfer) == STORED


def test_patch_without_mappings_keeps_the_rows(alice: User, transfer: Transfer) -> None:
    resp = api_as(alice).patch(
        f"/api/v1/transfers/{transfer.pk}/", {"name": "Renamed"}, format="json"
    )
    assert resp.status_code == 200, resp.content
    assert stored_rows(transfer) == STORED


def test_post_with_incomplete_mapping_row_is_400(alice: User, profile: ConnectionProfile) -> None:
    resp = api_as(alice).post(
        "/api/v1/transfers/",
        body(profile, mappings=[{"target_data_element": "x3Do5e7g4Qo"}]),
        format="json",
    )
    assert resp.status_code == 400, resp.content
    assert row_errors(resp, 0) == {"source_data_element": ["This field is required."]}
    assert not Transfer.objects.filter(name="Quarterly EPI").exists()


@respx.mock
def test_periods_of_a_data_set_with_unusable_period_type_is_400(bob: User, source_instance) -> None:
    """DHIS2 has a TwoYearly period type but no period ids for it: a 400 that says so."""
    respx.get("https://source.example.org/dhis/api/dataSets/BfMAe6Itzgt").respond(
        200, json={"id": "BfMAe6Itzgt", "periodType": "TwoYearly"}
    )
    resp = api_as(bob).get(f"/api/v1/instances/{source_instance.pk}/data-sets/BfMAe6Itzgt/periods/")
    assert resp.status_code == 400, resp.content
    assert "TwoYearly" in resp.json()["uid"][0]
