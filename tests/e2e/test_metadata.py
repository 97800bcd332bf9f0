"""Metadata assessment and sync end to end: a real qcluster worker, two simulators on loopback.

The API starts every run, as a user's click would; the worker executes it; the assertions are on
what the assessment found and on what the destination DHIS2 stored. Expected values come from
the simulator's dataset definitions (`DEMO_MISSING`, `DEMO_MAPPING`, `DEST_RENAMED_ELEMENTS`).
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from connections.models import ConnectionProfile
from jobs.models import Run
from metadata_sync.models import AssessmentItem, MetadataAssessment
from metadata_sync.schema import ORDER
from simulator.datasets import DEMO_MAPPING, DEMO_MISSING, DEST_RENAMED_ELEMENTS
from tests.conftest import api_as, served_profile
from tests.e2e.conftest import e2e_simulator, finished

pytestmark = pytest.mark.e2e


def assess_every_type(api: APIClient, profile: ConnectionProfile) -> dict:
    """Start an assessment of every metadata type through the API; the answer's JSON."""
    body = {"profile": profile.pk, "types": list(ORDER)}
    return api.post("/api/v1/metadata-assessments/", body, format="json").json()


def test_assessment_finds_the_demo_differences_and_apply_fills_them(qcluster, alice: User) -> None:
    source, destination = e2e_simulator("demo-source"), e2e_simulator("demo-destination")
    with served_profile(source, destination) as served:
        profile = served.profile
        api = api_as(alice)
        created = assess_every_type(api, profile)
        run = finished(created["run"])
        assert run.status == Run.Status.SUCCEEDED, run.error
        assessment = MetadataAssessment.objects.get(pk=created["id"])
        assert assessment.status == "done"

        # exactly the built-in differences, nothing else
        items = AssessmentItem.objects.filter(assessment=assessment)
        assert items.count() == sum(len(source.state.objects[t]) for t in ORDER)
        missing = {(i.type, i.source_id) for i in items.filter(status="missing")}
        assert missing == {(t, uid) for t, uids in DEMO_MISSING.items() for uid in uids}
        other_uid = {
            (i.type, i.source_id): i.destination_id
            for i in items.filter(status__in=["matched_by_code", "matched_by_name"])
        }
        assert other_uid == {
            (t, src): dst for t, pairs in DEMO_MAPPING.items() for src, dst in pairs.items()
        }
        by_code = items.filter(status="matched_by_code").count()
        assert by_code == sum(1 for code in DEST_RENAMED_ELEMENTS.values() if code is None)
        assert not items.filter(status="suggested").exists()

        ids = list(items.filter(status="missing").values_list("pk", flat=True))
        applied = api.post(
            f"/api/v1/metadata-assessments/{assessment.pk}/apply/",
            {"items": ids, "dry_run": False, "import_strategy": "CREATE_AND_UPDATE"},
            format="json",
        )
        assert applied.status_code == 202, applied.json()
        run = finished(applied.json()["run"])
        assert run.status == Run.Status.SUCCEEDED, run.error
        assert run.stats["created"] == sum(len(u) for u in DEMO_MISSING.values())
        for type_, uids in DEMO_MISSING.items():  # the destination stored them, with their UIDs
            assert set(uids) <= set(destination.state.objects[type_])

        again = assess_every_type(api, profile)
        run = finished(again["run"])
        assert run.status == Run.Status.SUCCEEDED, run.error
        second = api.get(f"/api/v1/metadata-assessments/{again['id']}/").json()
        assert all("missing" not in per_type for per_type in second["counts"].values())
        assert not AssessmentItem.objects.filter(assessment_id=again["id"], status="missing")
