"""Transfer pages: list, detail, form (admins only), run buttons (operators), conflicts CSV."""

from __future__ import annotations

import csv
import io

from django.contrib.auth.models import User

from connections.models import ConnectionProfile
from jobs.models import Run
from tests.conftest import page_as
from transfers.models import Transfer, TransferConflict


def form_data(profile: ConnectionProfile, **overrides: str) -> dict:
    data = {
        "name": "Weekly surveillance",
        "profile": str(profile.pk),
        "data_set": "BfMAe6Itzgt",
        "target_data_set": "",
        "periods_text": "2024W1, 2024W2",
        "relative_period": "",
        "relative_count": "",
        "org_units_text": "ImspTQPwCqd O6uvpzGd5pu",
        "include_descendants": "on",
        "org_unit_map_text": "O6uvpzGd5pu=fdc6uOvgoji",
        "attribute_option_combo_map_text": "",
        "unmapped": "skip",
        "id_scheme": "UID",
        "import_strategy": "CREATE_AND_UPDATE",
        "chunk_size": "500",
        "async_import": "auto",
        "mappings-TOTAL_FORMS": "1",
        "mappings-INITIAL_FORMS": "0",
        "mappings-MIN_NUM_FORMS": "0",
        "mappings-MAX_NUM_FORMS": "1000",
        "mappings-0-source_data_element": "fbfJHSPpUQD",
        "mappings-0-source_category_option_combo": "",
        "mappings-0-target_data_element": "cYeuwXTCPkU",
        "mappings-0-target_category_option_combo": "",
    }
    data.update(overrides)
    return data


def test_admin_creates_transfer_through_the_form(alice: User, profile: ConnectionProfile) -> None:
    resp = page_as(alice).post("/transfers/new/", form_data(profile))
    assert resp.status_code == 302, resp.content.decode()[:3000]
    t = Transfer.objects.get(name="Weekly surveillance")
    assert t.periods == ["2024W1", "2024W2"]
    assert t.org_units == ["ImspTQPwCqd", "O6uvpzGd5pu"]
    assert t.org_unit_map == {"O6uvpzGd5pu": "fdc6uOvgoji"}
    assert t.unmapped == "skip" and t.chunk_size == 500
    assert list(t.mappings.values_list("source_data_element", "target_data_element")) == [
        ("fbfJHSPpUQD", "cYeuwXTCPkU")
    ]


def test_form_shows_errors_on_the_fields_typed_in(alice: User, profile: ConnectionProfile) -> None:
    resp = page_as(alice).post(
        "/transfers/new/",
        form_data(profile, periods_text="2024W54", org_unit_map_text="no-equals-sign"),
    )
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "2024W54" in page and "write source=destination" in page
    assert not Transfer.objects.exists()


def test_operator_sees_and_runs_but_cannot_edit(
    bob: User, transfer: Transfer, django_capture_on_commit_callbacks
) -> None:
    client = page_as(bob)
    listing = client.get("/transfers/").content.decode()
    assert "Monthly HMIS" in listing and "Dry run" in listing and "New transfer" not in listing
    assert client.get("/transfers/new/").status_code == 403
    assert client.get(f"/transfers/{transfer.pk}/edit/").status_code == 403
    with django_capture_on_commit_callbacks(execute=False):
        resp = client.post(f"/transfers/{transfer.pk}/run/", {"dry_run": "1"})
    run = Run.objects.get(target=transfer.target)
    assert resp.status_code == 302 and resp["Location"] == f"/runs/{run.pk}/"
    assert run.params["dry_run"] is True and run.trigger == "web"


def test_charlie_cannot_run(charlie: User, transfer: Transfer) -> None:
    assert page_as(charlie).post(f"/transfers/{transfer.pk}/run/").status_code == 403
    assert not Run.objects.exists()


def test_run_page_lists_conflicts_and_csv_has_them_all(bob: User, transfer: Transfer) -> None:
    run = Run.objects.create(
        kind="transfer", trigger="web", status="warning", target=transfer.target
    )
    TransferConflict.objects.create(
        run=run, error_code="E7641", message="Period is after latest open future period",
        data_element="fbfJHSPpUQD", period="209912", org_unit="ImspTQPwCqd", value="12",
    )  # fmt: skip
    TransferConflict.objects.create(
        run=run, error_code="E7612", message="Org unit not found", org_unit="zzzzzzzzzzz", value="3"
    )
    client = page_as(bob)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "E7641" in page and "Download all as CSV" in page
    resp = client.get(f"/runs/{run.pk}/conflicts.csv")
    assert resp["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode())))
    assert [r["error_code"] for r in rows] == ["E7641", "E7612"]
    assert rows[0]["period"] == "209912" and rows[1]["org_unit"] == "zzzzzzzzzzz"
