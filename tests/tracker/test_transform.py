"""Source events become the destination's minimal payload, in its dialect, with mappings."""

from __future__ import annotations

import pytest

from tracker.read import LEGACY, TRACKER, normalise_event
from tracker.transform import EventMappings, event_payload

from .conftest import load


def _docs_event() -> dict:
    return normalise_event(load("tracker-events-get-pager.docs-2.41.json")["events"][0])


def test_tracker_payload_keeps_uid_and_drops_server_fields() -> None:
    event = _docs_event()
    payload = event_payload(event, dialect=TRACKER)
    assert payload["event"] == "A7rzcnZTe2T"
    assert payload["occurredAt"] == "2023-02-13T00:00:00.000"
    assert payload["scheduledAt"] == "2023-02-13T00:00:00.000"
    for dropped in (
        "createdAt", "updatedAt", "createdAtClient", "deleted", "followUp", "enrollment",
        "attributeCategoryOptions", "storedBy",
    ):  # fmt: skip
        assert dropped not in payload
    assert payload["geometry"] == {
        "type": "Point",
        "coordinates": [-11.468912037323042, 7.515913998868316],
    }
    expected = [
        {"dataElement": dv["dataElement"], "value": dv["value"]}
        | ({"providedElsewhere": True} if dv.get("providedElsewhere") else {})
        for dv in load("tracker-events-get-pager.docs-2.41.json")["events"][0]["dataValues"]
    ]
    assert payload["dataValues"] == expected
    assert all(
        set(dv) <= {"dataElement", "value", "providedElsewhere"} for dv in payload["dataValues"]
    )


def test_legacy_source_to_legacy_destination_uses_legacy_names() -> None:
    raw = load("events-legacy-get-pager.android-fixture.json")["events"][0]
    payload = event_payload(normalise_event(raw), dialect=LEGACY)
    assert payload["eventDate"] == raw["eventDate"]
    assert payload["dueDate"] == raw["dueDate"]
    assert payload["completedDate"] == raw["completedDate"]  # status COMPLETED
    assert "occurredAt" not in payload and "lastUpdated" not in payload
    assert payload["dataValues"][0] == {
        "dataElement": "g9eOBujte1U",
        "value": "1",
        "providedElsewhere": True,
    }


def test_mappings_replace_every_identifier_kind() -> None:
    event = {
        "event": "EvUid000001",
        "program": "PrSrc000001",
        "programStage": "PsSrc000001",
        "orgUnit": "OuSrc000001",
        "status": "ACTIVE",
        "occurredAt": "2024-05-01T00:00:00.000",
        "attributeOptionCombo": "AocSrc00001",
        "dataValues": [
            {"dataElement": "DeSrc000001", "value": "3"},
            {"dataElement": "DeSame00001", "value": "x"},
        ],
    }
    mappings = EventMappings.from_dict(
        {
            "program": {"PrSrc000001": "PrDst000001"},
            "program_stage": {"PsSrc000001": "PsDst000001"},
            "org_unit": {"OuSrc000001": "OuDst000001"},
            "attribute_option_combo": {"AocSrc00001": "AocDst00001"},
            "data_element": {"DeSrc000001": "DeDst000001"},
        }
    )
    payload = event_payload(event, mappings=mappings)
    assert (payload["program"], payload["programStage"], payload["orgUnit"]) == (
        "PrDst000001", "PsDst000001", "OuDst000001",
    )  # fmt: skip
    assert payload["attributeOptionCombo"] == "AocDst00001"
    assert payload["dataValues"] == [
        {"dataElement": "DeDst000001", "value": "3"},
        {"dataElement": "DeSame00001", "value": "x"},
    ]
    assert payload["event"] == "EvUid000001"
    assert "completedAt" not in payload  # only for COMPLETED events


def test_transfer_mappings_override_profile_mappings() -> None:
    profile = EventMappings(org_unit={"A": "fromProfile", "B": "b2"})
    own = EventMappings(org_unit={"A": "fromTransfer"})
    assert own.merged_over(profile).org_unit == {"A": "fromTransfer", "B": "b2"}


def test_unknown_mapping_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="optionCombo"):
        EventMappings.from_dict({"optionCombo": {}})


def test_strip_notes_assigned_user_and_coordinates() -> None:
    event = {
        "event": "EvUid000001",
        "program": "P",
        "orgUnit": "O",
        "status": "ACTIVE",
        "occurredAt": "2024-05-01",
        "geometry": {"type": "Point", "coordinates": [1.0, 2.0]},
        "assignedUser": {"uid": "UsrUid00001", "username": "anna"},
        "notes": [{"note": "NoteUid0001", "value": "Called back", "storedBy": "anna"}],
        "dataValues": [],
    }
    kept = event_payload(event)
    assert kept["assignedUser"] == {"uid": "UsrUid00001"}
    assert kept["notes"] == [{"value": "Called back", "note": "NoteUid0001"}]
    assert kept["geometry"] == event["geometry"]
    assert event_payload(event, dialect=LEGACY)["assignedUser"] == "UsrUid00001"
    stripped = event_payload(event, strip=["notes", "assigned_user", "coordinates"])
    assert not {"notes", "assignedUser", "geometry"} & set(stripped)
    with pytest.raises(ValueError):
        event_payload(event, strip=["storedBy"])
