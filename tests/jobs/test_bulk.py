"""`jobs.bulk.insert_rows`: the fast insert of result rows must store what the ORM would."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from completeness.models import CompletenessAssessment, CompletenessRow
from connections.models import ConnectionProfile, Instance
from jobs.bulk import insert_rows
from metadata_sync.models import AssessmentItem, MetadataAssessment

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment() -> CompletenessAssessment:
    instance = Instance.objects.create(name="HMIS", base_url="http://hmis.test", username="u")
    return CompletenessAssessment.objects.create(instance=instance, data_set="BfMAe6Itzgt")


FIELDS = ("assessment_id", "org_unit", "period", "present", "missing", "compliance", "compliant")


def test_rows_round_trip_json_floats_and_booleans(assessment: CompletenessAssessment) -> None:
    rows = [
        (assessment.pk, "DiszpKrYNg8", "202401", ["a", "b"], [], 100.0, True),
        (assessment.pk, "DiszpKrYNg8", "202402", [], ["a", "b"], 0.0, False),
        (assessment.pk, "jNb63DIHuwU", "202401", ["a"], ["b"], 50.0, False),
    ]
    assert insert_rows(CompletenessRow, FIELDS, rows) == 3
    stored = {
        (r.org_unit, r.period): (r.present, r.missing, r.compliance, r.compliant)
        for r in CompletenessRow.objects.filter(assessment=assessment)
    }
    assert stored == {
        ("DiszpKrYNg8", "202401"): (["a", "b"], [], 100.0, True),
        ("DiszpKrYNg8", "202402"): ([], ["a", "b"], 0.0, False),
        ("jNb63DIHuwU", "202401"): (["a"], ["b"], 50.0, False),
    }


def test_left_out_columns_get_the_field_default(assessment: CompletenessAssessment) -> None:
    insert_rows(
        CompletenessRow, ("assessment_id", "org_unit", "period"), [(assessment.pk, "x", "p")]
    )
    row = CompletenessRow.objects.get()
    # the model's defaults: level 0, name/path "", present/missing [], compliance 0.0, flags off
    assert (row.level, row.org_unit_name, row.path) == (0, "", "")
    assert (row.present, row.missing, row.compliance) == ([], [], 0.0)
    assert (row.compliant, row.no_data, row.registered) == (False, False, False)


def test_a_non_empty_dict_is_stored_as_json(assessment: CompletenessAssessment) -> None:
    md = MetadataAssessment.objects.create(
        profile=_profile(assessment.instance), types=["dataElements"]
    )
    fields = ("assessment_id", "type", "source_id", "status", "differences", "score")
    insert_rows(
        AssessmentItem,
        fields,
        [
            (md.pk, "dataElements", "a1", "conflict", {"valueType": ["NUMBER", "TEXT"]}, None),
            (md.pk, "dataElements", "a2", "matched", {}, 0.75),
        ],
    )
    items = {i.source_id: (i.differences, i.score, i.decision) for i in md.items.all()}
    assert items == {
        "a1": ({"valueType": ["NUMBER", "TEXT"]}, None, ""),
        "a2": ({}, 0.75, ""),
    }


def _profile(instance: Instance) -> ConnectionProfile:
    other = Instance.objects.create(name="Other", base_url="http://other.test", username="u")
    return ConnectionProfile.objects.create(name="p", source=instance, destination=other)


def test_batches_are_one_statement_each(assessment: CompletenessAssessment) -> None:
    rows = [(assessment.pk, f"ou{i:09d}", "202401") for i in range(5)]
    with CaptureQueriesContext(connection) as queries:
        insert_rows(CompletenessRow, ("assessment_id", "org_unit", "period"), rows, batch_size=2)
    inserts = [q["sql"].split(" times: ")[0] for q in queries if "INSERT" in q["sql"]]
    assert inserts == ["2", "2", "1"]  # one executemany per batch, logged "<n> times: INSERT…"
    assert CompletenessRow.objects.count() == 5


def test_wrong_input_is_refused_before_anything_is_written(
    assessment: CompletenessAssessment,
) -> None:
    with pytest.raises(ValueError, match="no column"):
        insert_rows(CompletenessRow, ("assessment_id", "nope"), [(assessment.pk, 1)])
    with pytest.raises(ValueError, match="assessment_id has no default"):
        insert_rows(CompletenessRow, ("org_unit", "period"), [("DiszpKrYNg8", "202401")])
    with pytest.raises(ValueError):  # a row of the wrong length
        insert_rows(CompletenessRow, ("assessment_id", "org_unit", "period"), [(assessment.pk,)])
    assert not CompletenessRow.objects.exists()
