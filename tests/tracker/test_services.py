"""The save service (scope changes reset the watermark), mappings and the incremental bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from connections.models import ConnectionProfile
from tracker.models import EventTransfer
from tracker.services import effective_mappings, incremental_bound, save_event_transfer

PROGRAM, OU = "eBAyeGv0exc", "DiszpKrYNg8"
MARK = datetime(2024, 7, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def transfer(profile: ConnectionProfile) -> EventTransfer:
    return EventTransfer.objects.create(
        name="Saved", profile=profile, program=PROGRAM, org_units=[OU], watermark=MARK,
        incremental=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"program_stage": "Zj7UnCAulEk"},
        {"org_units": [OU, "ImspTQPwCqd"]},
        {"ou_mode": "SELECTED"},
        {"start_date": "2024-01-01"},
        {"end_date": "2024-12-31"},
        {"mappings": {"org_unit": {OU: "ImspTQPwCqd"}}},
        {"use_profile_mappings": False},
        {"strip_fields": ["notes"]},
    ],
)
def test_a_scope_change_resets_the_watermark(transfer: EventTransfer, change: dict) -> None:
    saved = save_event_transfer(transfer, data=change, verify_on_source=False)
    saved.refresh_from_db()
    assert saved.watermark is None


def test_other_changes_keep_the_watermark(transfer: EventTransfer) -> None:
    save_event_transfer(
        transfer, data={"name": "Renamed", "org_units": [OU]}, verify_on_source=False
    )
    transfer.refresh_from_db()
    assert transfer.name == "Renamed" and transfer.watermark == MARK


def test_errors_are_keyed_by_field_and_nothing_is_saved(transfer: EventTransfer) -> None:
    with pytest.raises(ValidationError) as caught:
        save_event_transfer(
            transfer,
            data={"start_date": "2024-05-01", "end_date": "2024-04-01", "program": "x"},
            verify_on_source=False,
        )
    assert set(caught.value.message_dict) == {"end_date", "program"}
    transfer.refresh_from_db()
    assert transfer.program == PROGRAM and transfer.watermark == MARK


def test_the_bound_is_the_watermark_minus_the_overlap(transfer: EventTransfer, settings) -> None:
    settings.TRANSFER_INCREMENTAL_OVERLAP_MINUTES = 15
    assert incremental_bound(transfer) == MARK - timedelta(minutes=15)
    assert incremental_bound(transfer, full=True) is None
    transfer.incremental = False
    assert incremental_bound(transfer) is None


def test_own_mappings_win_over_the_profile_ones(transfer: EventTransfer) -> None:
    from metadata_sync.models import ProfileMapping

    for type_, src, dst in [
        ("dataElements", "qrur9Dvnyt5", "oZg33kd9taw"),
        ("dataElements", "eMyVanycQSC", "FTRrcoaog83"),
        ("organisationUnits", OU, "Vth0fbpFcsO"),
    ]:
        ProfileMapping.objects.create(
            profile=transfer.profile, type=type_, source_id=src, destination_id=dst
        )
    transfer.mappings = {"data_element": {"eMyVanycQSC": "msodh3rEMJa"}}
    merged = effective_mappings(transfer)
    assert merged.data_element == {"qrur9Dvnyt5": "oZg33kd9taw", "eMyVanycQSC": "msodh3rEMJa"}
    assert merged.org_unit == {OU: "Vth0fbpFcsO"}
    transfer.use_profile_mappings = False
    assert effective_mappings(transfer).data_element == {"eMyVanycQSC": "msodh3rEMJa"}
    assert effective_mappings(transfer).org_unit == {}
