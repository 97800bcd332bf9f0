"""Scope changes reset the incremental watermark; identifiers follow the id scheme; page inputs
are validated like API inputs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.services import save_profile
from jobs.models import Run
from tests.conftest import api_as, instance_with_secret
from transfers.models import Transfer, TransferConflict
from transfers.services import save_transfer, start_transfer

MARK = datetime(2024, 7, 1, tzinfo=UTC)


def with_watermark(transfer: Transfer) -> Transfer:
    Transfer.objects.filter(pk=transfer.pk).update(watermark=MARK, incremental=True)
    transfer.refresh_from_db()
    return transfer


def test_changing_the_scope_resets_the_watermark(alice: User, transfer: Transfer) -> None:
    with_watermark(transfer)
    resp = api_as(alice).patch(
        f"/api/v1/transfers/{transfer.pk}/", {"org_units": ["O6uvpzGd5pu"]}, format="json"
    )
    assert resp.status_code == 200
    transfer.refresh_from_db()
    assert transfer.watermark is None


def test_changing_only_the_chunk_size_keeps_the_watermark(alice: User, transfer: Transfer) -> None:
    with_watermark(transfer)
    api_as(alice).patch(f"/api/v1/transfers/{transfer.pk}/", {"chunk_size": 500}, format="json")
    transfer.refresh_from_db()
    assert transfer.watermark == MARK


def test_a_new_mapping_row_resets_the_watermark(transfer: Transfer) -> None:
    with_watermark(transfer)
    rows = [
        {"source_data_element": "fbfJHSPpUQD", "target_data_element": "cYeuwXTCPkU"},
        {"source_data_element": "s46m5MS0hxu", "target_data_element": "x3Do5e7g4Qo"},
    ]
    save_transfer(transfer, user=None, mappings=rows)
    transfer.refresh_from_db()
    assert transfer.watermark is None
    assert transfer.mappings.count() == 2


def test_full_run_is_asked_for_through_the_api(
    bob: User, transfer: Transfer, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        resp = api_as(bob).post(
            f"/api/v1/transfers/{transfer.pk}/run/", {"full": True}, format="json"
        )
    assert resp.status_code == 202
    assert Run.objects.get(pk=resp.json()["run"]).params["full"] is True


def test_code_scheme_takes_codes_in_mappings_and_maps(alice: User, profile) -> None:
    body = {
        "name": "By code", "profile": profile.pk, "data_set": "BfMAe6Itzgt", "periods": ["202401"],
        "org_units": ["ImspTQPwCqd"], "id_scheme": "CODE", "org_unit_map": {"OU_KOLO": "OU_KOLO_2"},
        "mappings": [{"source_data_element": "DE_ANC4", "target_data_element": "ANC_4"}],
    }  # fmt: skip
    resp = api_as(alice).post("/api/v1/transfers/", body, format="json")
    assert resp.status_code == 201, resp.json()
    uid_body = {**body, "name": "By UID", "id_scheme": "UID"}
    resp = api_as(alice).post("/api/v1/transfers/", uid_body, format="json")
    assert resp.status_code == 400
    assert "mappings" in resp.json() or "org_unit_map" in resp.json()


def page_form(profile, **overrides: str) -> dict:
    data = {
        "name": "Page", "profile": str(profile.pk), "data_set": "BfMAe6Itzgt", "periods_text": "202401",
        "relative_period": "", "org_units_text": "ImspTQPwCqd", "unmapped": "send", "id_scheme": "UID",
        "import_strategy": "CREATE_AND_UPDATE", "chunk_size": "100", "async_import": "never",
        "mappings-TOTAL_FORMS": "0", "mappings-INITIAL_FORMS": "0",
        "mappings-MIN_NUM_FORMS": "0", "mappings-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("periods_text", "banana", "banana"),
        ("periods_text", "2024W99", "2024W99"),
        ("org_units_text", "notauid", "not a valid DHIS2 identifier"),
        ("org_unit_map_text", "abc=ImspTQPwCqd", "not a valid DHIS2 identifier"),
    ],
)
def test_page_form_refuses_what_the_api_refuses(
    alice: User, profile, field: str, value: str, message: str
) -> None:
    client = Client()
    client.force_login(alice)
    resp = client.post("/transfers/new/", page_form(profile, **{field: value}))
    assert resp.status_code == 200
    assert message in resp.content.decode()
    assert not Transfer.objects.filter(name="Page").exists()


def test_resume_reuses_the_periods_of_the_first_run(
    transfer: Transfer, django_capture_on_commit_callbacks
) -> None:
    Transfer.objects.filter(pk=transfer.pk).update(periods=[], relative_period="LAST_MONTH")
    transfer.refresh_from_db()
    first = Run.objects.create(
        kind="transfer", trigger="web", status="failed", target=transfer.target,
        params={"transfer_id": transfer.pk, "dry_run": False, "resolved_periods": ["202312"]},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        resumed = start_transfer(transfer, user=None, trigger="web", resume_of=first)
    assert resumed.params["resume_of"] == first.pk
    from transfers.tasks import _periods

    class Ctx:
        params: dict = {}

        def info(self, message: str) -> None:
            pass

        def set_param(self, key: str, value: object) -> None:
            self.params[key] = value

    assert _periods(transfer, source=None, ctx=Ctx(), resumed=first) == ["202312"]


def test_conflicts_csv_neutralises_formulas_but_keeps_numbers(
    bob: User, transfer: Transfer
) -> None:
    run = Run.objects.create(
        kind="transfer", trigger="web", status="warning", target=transfer.target
    )
    TransferConflict.objects.create(run=run, message="m", value='=HYPERLINK("x")')
    TransferConflict.objects.create(run=run, message="m", value="-12.5")
    client = Client()
    client.force_login(bob)
    body = client.get(f"/runs/{run.pk}/conflicts.csv").content.decode()
    assert "'=HYPERLINK" in body
    assert ",-12.5," in body or body.rstrip().endswith(",-12.5,,")


def test_resume_of_must_be_a_number(bob: User, transfer: Transfer) -> None:
    client = Client()
    client.force_login(bob)
    resp = client.post(f"/transfers/{transfer.pk}/run/", {"resume_of": "abc"})
    assert resp.status_code == 302
    assert not Run.objects.exists()


def test_api_mapping_rows_reset_the_watermark_only_when_they_change(
    alice: User, transfer: Transfer
) -> None:
    client = api_as(alice)
    same = [{"source_data_element": "fbfJHSPpUQD", "target_data_element": "cYeuwXTCPkU"}]
    with_watermark(transfer)
    client.patch(f"/api/v1/transfers/{transfer.pk}/", {"mappings": same}, format="json")
    transfer.refresh_from_db()
    assert transfer.watermark == MARK
    more = [*same, {"source_data_element": "s46m5MS0hxu", "target_data_element": "x3Do5e7g4Qo"}]
    client.patch(f"/api/v1/transfers/{transfer.pk}/", {"mappings": more}, format="json")
    transfer.refresh_from_db()
    assert transfer.watermark is None
    assert transfer.mappings.count() == 2


def test_switching_to_uid_with_code_rows_is_400(alice: User, transfer: Transfer) -> None:
    Transfer.objects.filter(pk=transfer.pk).update(id_scheme="CODE")
    transfer.mappings.update(source_data_element="DE_ANC4_LONG_CODE")
    resp = api_as(alice).patch(
        f"/api/v1/transfers/{transfer.pk}/", {"id_scheme": "UID"}, format="json"
    )
    assert resp.status_code == 400
    assert "mappings" in resp.json()


def test_pointing_the_profile_elsewhere_resets_its_transfers_watermarks(
    transfer: Transfer, source_instance
) -> None:
    with_watermark(transfer)
    other = instance_with_secret("Other", "https://other.example.org", username="a", password="b")
    save_profile(transfer.profile, user=None, destination=other)
    transfer.refresh_from_db()
    assert transfer.watermark is None


def test_a_resumed_full_run_stays_full(
    transfer: Transfer, django_capture_on_commit_callbacks
) -> None:
    failed = Run.objects.create(
        kind="transfer", trigger="web", status="failed", target=transfer.target,
        params={"transfer_id": transfer.pk, "dry_run": False, "full": True},
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        resumed = start_transfer(transfer, user=None, trigger="web", resume_of=failed)
    assert resumed.params["full"] is True
