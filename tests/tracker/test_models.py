"""Saved event transfers validate their configuration where the admin and API will call it."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from connections.models import ConnectionProfile, Instance
from tracker.models import EventTransfer, validate_mappings, validate_strip_fields
from tracker.transform import EventMappings


@pytest.fixture
def profile(db) -> ConnectionProfile:
    a = Instance.objects.create(name="src", base_url="https://a.example.org", username="u")
    b = Instance.objects.create(name="dst", base_url="https://b.example.org", username="u")
    return ConnectionProfile.objects.create(name="p", source=a, destination=b)


def test_valid_transfer_round_trips_its_mappings(profile: ConnectionProfile) -> None:
    mappings = {"org_unit": {"OuSrc000001": "OuDst000001"}}
    t = EventTransfer(
        name="Malaria", profile=profile, program="vjpbcKDppVr", org_units=["GuJvPJUTy5x"],
        mappings=mappings, strip_fields=["notes"],
    )  # fmt: skip
    t.full_clean()
    t.save()
    t.refresh_from_db()
    assert t.ou_mode == "DESCENDANTS" and t.use_profile_mappings and t.watermark is None
    assert EventMappings.from_dict(t.mappings).org_unit == {"OuSrc000001": "OuDst000001"}


def test_invalid_transfer_names_every_field(profile: ConnectionProfile) -> None:
    t = EventTransfer(
        name="Bad", profile=profile, program="nope", org_units=[],
        start_date=date(2024, 5, 1), end_date=date(2024, 4, 1),
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        t.full_clean()
    assert {"program", "org_units", "end_date"} <= set(caught.value.message_dict)


def test_accessible_mode_needs_no_org_units(profile: ConnectionProfile) -> None:
    EventTransfer(
        name="All", profile=profile, program="vjpbcKDppVr", ou_mode="ACCESSIBLE"
    ).full_clean()


@pytest.mark.parametrize(
    "value",
    [{"dataElements": {}}, {"org_unit": {"short": "OuDst000001"}}, {"org_unit": ["x"]}, []],
)
def test_bad_mappings_are_refused(value) -> None:
    with pytest.raises(ValidationError):
        validate_mappings(value)


def test_only_known_fields_can_be_stripped() -> None:
    validate_strip_fields(["notes", "assigned_user", "coordinates"])
    with pytest.raises(ValidationError):
        validate_strip_fields(["storedBy"])
