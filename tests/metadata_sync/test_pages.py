"""What the metadata pages show: tabs with counts, names next to UIDs, the payload preview and
its download, review from the page, and starting an assessment."""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.utils.html import escape

from jobs.models import Run
from metadata_sync.models import AssessmentItem, MetadataAssessment, ProfileMapping
from simulator.datasets import DEMO, DEMO_MAPPING, DEMO_MISSING
from tests.conftest import page_as

from .conftest import SimPair

RENAMED_DE = DEMO["dataElements"]["ANC 4th visit"]


def test_results_tabs_and_names(assessed: MetadataAssessment, bob: User) -> None:
    page = page_as(bob).get(f"/metadata/assessments/{assessed.pk}/?status=missing")
    html = page.content.decode()
    assert page.status_code == 200
    # Tabs by their labels, the status key only in the link.
    assert "Missing on the destination (2)" in html and "Matched by name (4)" in html
    assert "Matched by code (1)" in html and "?status=matched_by_name" in html
    assert "matched_by_name (4)" not in html
    unit = AssessmentItem.objects.get(source_id=DEMO_MISSING["organisationUnits"][0])
    assert f'title="{unit.source_id}">{unit.source_name}<' in html
    assert "Preview payload" in html and ">Apply<" not in html  # bob may not apply

    review = (
        page_as(bob)
        .get(f"/metadata/assessments/{assessed.pk}/?status=matched_by_name&search=ANC")
        .content.decode()
    )
    item = AssessmentItem.objects.get(assessment=assessed, source_id=RENAMED_DE)
    assert item.destination_name in review and DEMO_MAPPING["dataElements"][RENAMED_DE] in review
    assert "Accept selected" in review and "Pick another" in review
    assert "<script>" not in review  # the CSP runs only our own files: no inline script


def test_preview_and_download(assessed: MetadataAssessment, alice: User) -> None:
    client = page_as(alice)
    url = f"/metadata/assessments/{assessed.pk}/sync/"
    preview = client.post(url, {"action": "preview", "all_missing": "1"}).content.decode()
    assert "<td>data elements</td><td>1</td>" in preview
    assert "<td>organisation units</td><td>1</td>" in preview
    download = client.post(url, {"action": "download", "all_missing": "1"})
    assert download["Content-Disposition"].startswith("attachment;")
    body = json.loads(download.content)
    assert {t: [o["id"] for o in objs] for t, objs in body.items() if objs} == DEMO_MISSING


def test_review_from_the_page(assessed: MetadataAssessment, bob: User) -> None:
    items = list(AssessmentItem.objects.filter(assessment=assessed, status="matched_by_name"))
    resp = page_as(bob).post(
        f"/metadata/assessments/{assessed.pk}/review/",
        {"action": "accept", "items": [i.pk for i in items]},
    )
    assert resp.status_code == 302
    assert ProfileMapping.objects.filter(accepted_by=bob).count() == len(items)
    listing = page_as(bob).get(f"/metadata/profiles/{assessed.profile_id}/mappings/")
    html = listing.content.decode()
    assert all(escape(i.source_name) in html for i in items)
    assert "Delete" not in html  # operators read mappings, admins delete them


def test_start_from_the_page_and_watch_the_run(
    sim_pair: SimPair, bob: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        resp = page_as(bob).post(
            "/metadata/", {"profile": sim_pair.profile.pk, "types": ["organisationUnits"]}
        )
    run = Run.objects.get(kind="metadata_assessment")
    assert resp.status_code == 302 and resp["Location"] == f"/runs/{run.pk}/"
    assert run.status == Run.Status.SUCCEEDED and run.started_by == bob
    page = page_as(bob).get(f"/runs/{run.pk}/").content.decode()
    assessment = MetadataAssessment.objects.get()
    assert f"/metadata/assessments/{assessment.pk}/" in page
    assert assessment.counts == {"organisationUnits": {"matched": 54, "missing": 1}}
    bad = page_as(bob).post("/metadata/", {"profile": sim_pair.profile.pk, "types": ["x"]})
    assert bad.status_code == 200 and MetadataAssessment.objects.count() == 1
