"""Stored assessments and items, and the mapping rows a review makes of accepted items."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from django.db import IntegrityError, transaction

from connections.models import ConnectionProfile
from metadata_sync.match import ItemResult, Status
from metadata_sync.models import AssessmentItem, MetadataAssessment, ProfileMapping
from metadata_sync.review import MappingRow, mapping_rows


def item(type_: str, source: str, dest: str, status: Status, attribute: bool = False) -> ItemResult:
    return ItemResult(type=type_, source_id=source, source_code="", source_name=source,
                      status=status, destination_id=dest, attribute=attribute)  # fmt: skip


def test_mapping_rows_take_accepted_matches_of_mapped_types_only() -> None:
    rows = mapping_rows([
        item("dataElements", "deSrc000001", "deDst000001", Status.MATCHED_BY_NAME),
        item("dataElements", "deSame00001", "deSame00001", Status.MATCHED),  # same UID: no row
        item("dataElements", "deGone00001", "", Status.MISSING),
        item("categoryOptionCombos", "cocSrc00001", "cocDst00001", Status.SUGGESTED),
        item("categoryOptionCombos", "aocSrc00001", "aocDst00001", Status.CONFLICT, attribute=True),
        item("organisationUnits", "ouSrc000001", "ouDst000001", Status.MATCHED_BY_CODE),
        item("categoryCombos", "ccSrc000001", "ccDst000001", Status.MATCHED_BY_NAME),
    ])  # fmt: skip
    assert rows == [
        MappingRow("dataElements", "deSrc000001", "deDst000001"),
        MappingRow("categoryOptionCombos", "cocSrc00001", "cocDst00001"),
        MappingRow("attributeOptionCombos", "aocSrc00001", "aocDst00001"),
        MappingRow("organisationUnits", "ouSrc000001", "ouDst000001"),
    ]


@pytest.mark.django_db
def test_items_store_the_api_shape_and_mappings_are_unique_per_source(
    profile: ConnectionProfile,
) -> None:
    assessment = MetadataAssessment.objects.create(
        profile=profile, types=["dataElements"], counts={"dataElements": {"matched_by_name": 1}}
    )
    result = item("dataElements", "deSrc000001", "deDst000001", Status.CONFLICT)
    result.differences = {"valueType": {"source": "TEXT", "destination": "NUMBER"}}
    fields = {k: v for k, v in asdict(result).items()}
    AssessmentItem.objects.bulk_create([AssessmentItem(assessment=assessment, **fields)])
    stored = assessment.items.get()
    assert (stored.status, stored.differences, stored.decision) == (
        "conflict",
        result.differences,
        "",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AssessmentItem.objects.create(assessment=assessment, type="dataElements",
                                      source_id="deSrc000001", status="missing")  # fmt: skip

    ProfileMapping.objects.create(profile=profile, type="dataElements", source_id="deSrc000001",
                                  destination_id="deDst000001", assessment=assessment)  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        ProfileMapping.objects.create(profile=profile, type="dataElements",
                                      source_id="deSrc000001", destination_id="deOther0001")  # fmt: skip
    # the same source UID may map in another type
    ProfileMapping.objects.create(profile=profile, type="organisationUnits",
                                  source_id="deSrc000001", destination_id="ouDst000001")  # fmt: skip
    assessment.delete()
    assert ProfileMapping.objects.get(type="dataElements").assessment is None
