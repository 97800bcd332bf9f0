"""`save_transfer` is the one save path: the admin goes through it too, rows are checked once,
and the watermark and last run a run moved are never overwritten by a stale edit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.models import ConnectionProfile
from transfers.models import Transfer
from transfers.services import TransferInvalid, save_transfer

MARK = datetime(2024, 7, 1, tzinfo=UTC)
ROW = {"source_data_element": "s46m5MS0hxu", "target_data_element": "x3Do5e7g4Qo"}


def test_row_errors_are_nested_by_index_and_flat_for_lists(profile: ConnectionProfile) -> None:
    rows = [ROW, {"source_data_element": "bad", "target_data_element": "x3Do5e7g4Qo"}, ROW]
    with pytest.raises(TransferInvalid) as caught:
        save_transfer(
            None, user=None, name="T", profile=profile, data_set="BfMAe6Itzgt",
            periods=["202401"], org_units=["ImspTQPwCqd"], mappings=rows,
        )  # fmt: skip
    nested = caught.value.detail["mappings"]
    assert set(nested) == {"1", "2"}
    assert "not a valid DHIS2 identifier" in nested["1"]["source_data_element"][0]
    assert "mapped twice (also row 1)" in nested["2"]["source_data_element"][0]
    assert any(m.startswith("Row 3, source_data_element") for m in caught.value.messages)
    assert not Transfer.objects.exists()


def test_a_stale_edit_keeps_what_a_run_stored(transfer: Transfer) -> None:
    stale = Transfer.objects.get(pk=transfer.pk)
    Transfer.objects.filter(pk=transfer.pk).update(watermark=MARK, incremental=True)
    save_transfer(stale, user=None, chunk_size=500)  # not a scope change
    transfer.refresh_from_db()
    assert transfer.watermark == MARK and transfer.chunk_size == 500
    save_transfer(stale, user=None, org_units=["O6uvpzGd5pu"])  # a scope change
    transfer.refresh_from_db()
    assert transfer.watermark is None


def _admin_form(profile: ConnectionProfile, rows: list[dict]) -> dict:
    data = {
        "name": "Admin made", "profile": str(profile.pk), "data_set": "BfMAe6Itzgt",
        "target_data_set": "", "periods": '["202401"]', "relative_period": "",
        "org_units": '["ImspTQPwCqd"]', "include_descendants": "on", "org_unit_map": "{}",
        "attribute_option_combo_map": "{}", "unmapped": "send", "id_scheme": "UID",
        "import_strategy": "CREATE_AND_UPDATE", "chunk_size": "2000", "async_import": "auto",
        "mappings-TOTAL_FORMS": str(len(rows)), "mappings-INITIAL_FORMS": "0",
        "mappings-MIN_NUM_FORMS": "0", "mappings-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for n, row in enumerate(rows):
        data.update({f"mappings-{n}-{k}": v for k, v in row.items()})
    return data


def test_the_admin_saves_through_the_service(alice: User, profile: ConnectionProfile) -> None:
    client = Client()
    client.force_login(alice)
    other = {"source_data_element": "fbfJHSPpUQD", "target_data_element": "cYeuwXTCPkU"}
    resp = client.post("/admin/transfers/transfer/add/", _admin_form(profile, [ROW, ROW]))
    assert resp.status_code == 200
    assert "mapped twice" in resp.content.decode()
    assert not Transfer.objects.exists()
    resp = client.post("/admin/transfers/transfer/add/", _admin_form(profile, [ROW, other]))
    assert resp.status_code == 302, resp.content.decode()[:2000]
    saved = Transfer.objects.get(name="Admin made")
    assert sorted(saved.mappings.values_list("source_data_element", flat=True)) == [
        "fbfJHSPpUQD",
        "s46m5MS0hxu",
    ]
