"""The metadata API contract against the demo simulator pair: fields, paging, review, sync, 400s.

Expected values come from the simulator's dataset definitions (`DEMO_MISSING`, `DEMO_MAPPING`)
and from the simulators' stored objects, never from the code under test.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from jobs.models import Run
from metadata_sync.models import (
    AssessmentItem,
    MetadataAssessment,
    MetadataImportError,
    ProfileMapping,
)
from metadata_sync.schema import ORDER
from metadata_sync.services import profile_mappings, start_metadata_apply
from simulator.datasets import DEMO, DEMO_MAPPING, DEMO_MISSING
from tests.conftest import api_as

from .conftest import SimPair

BASE = "/api/v1/metadata-assessments"
ITEM_FIELDS = {
    "id", "type", "source_id", "source_code", "source_name", "destination_id",
    "destination_code", "destination_name", "status", "score", "differences", "decision",
}  # fmt: skip
RENAMED_DE = DEMO["dataElements"]["ANC 4th visit"]  # carries another UID and code on the dest


def items_of(assessment: MetadataAssessment, **filters) -> list[AssessmentItem]:
    return list(AssessmentItem.objects.filter(assessment=assessment, **filters))


def test_create_runs_the_assessment_and_reports_counts(
    sim_pair: SimPair, alice: User, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        resp = api_as(alice).post(
            f"{BASE}/", {"profile": sim_pair.profile.pk, "types": ["dataElements"]}, format="json"
        )
    assert resp.status_code == 201, resp.json()
    created = resp.json()
    assert {"id", "run"} <= set(created)
    run = Run.objects.get(pk=created["run"])
    assert run.kind == "metadata_assessment" and run.status == Run.Status.SUCCEEDED
    assert run.params == {"assessment_id": created["id"]}

    data = api_as(alice).get(f"{BASE}/{created['id']}/").json()
    assert set(data) == {
        "id", "profile", "types", "run", "status", "counts", "created", "created_by"
    }  # fmt: skip
    # data elements bring their category combos along, and those their parts
    assert data["types"] == [
        "categoryOptions", "categories", "categoryCombos", "categoryOptionCombos", "dataElements"
    ]  # fmt: skip
    assert data["status"] == "done" and data["created_by"] == alice.pk
    source = sim_pair.source.state.objects
    assert sum(data["counts"]["dataElements"].values()) == len(source["dataElements"])
    assert data["counts"]["dataElements"]["missing"] == len(DEMO_MISSING["dataElements"])
    # one renamed element keeps its code (matched by code), two are matched by name
    assert data["counts"]["dataElements"]["matched_by_code"] == 1
    assert data["counts"]["dataElements"]["matched_by_name"] == 2
    assert data["counts"]["categoryOptionCombos"]["matched_by_name"] == 2
    assert run.stats["missing"] == 1 and run.stats["objects compared"] == sum(
        len(source[t]) for t in data["types"]
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"types": ["dataElements"]}, "profile"),
        ({"profile": 999, "types": ["dataElements"]}, "profile"),
        ({"profile": "PROFILE", "types": ["dataElementz"]}, "types"),
        ({"profile": "PROFILE", "types": []}, "types"),
        ({"profile": "PROFILE", "types": "dataElements"}, "types"),
        ({"profile": "PROFILE"}, "types"),
    ],
)
def test_create_refuses_malformed_input(
    sim_pair: SimPair, alice: User, body: dict, field: str
) -> None:
    if body.get("profile") == "PROFILE":
        body = {**body, "profile": sim_pair.profile.pk}
    resp = api_as(alice).post(f"{BASE}/", body, format="json")
    assert resp.status_code == 400
    assert field in resp.json()
    assert not MetadataAssessment.objects.exists()


def test_items_page_filter_and_search(assessed: MetadataAssessment, alice: User) -> None:
    api = api_as(alice)
    total = AssessmentItem.objects.filter(assessment=assessed).count()
    page = api.get(f"{BASE}/{assessed.pk}/items/", {"page_size": 7, "page": 2}).json()
    assert page["count"] == total and page["previous"] and page["next"]
    assert len(page["results"]) == 7 and set(page["results"][0]) == ITEM_FIELDS
    # page_size is capped at 500: every item fits on one page here
    everything = api.get(f"{BASE}/{assessed.pk}/items/", {"page_size": 5000}).json()
    assert len(everything["results"]) == min(total, 500)

    missing = api.get(f"{BASE}/{assessed.pk}/items/", {"status": "missing"}).json()
    assert sorted((i["type"], i["source_id"]) for i in missing["results"]) == sorted(
        (t, uid) for t, uids in DEMO_MISSING.items() for uid in uids
    )
    only_ou = api.get(
        f"{BASE}/{assessed.pk}/items/", {"status": "missing", "type": "organisationUnits"}
    ).json()
    assert [i["source_id"] for i in only_ou["results"]] == DEMO_MISSING["organisationUnits"]

    found = api.get(f"{BASE}/{assessed.pk}/items/", {"search": "anc 4th"}).json()
    assert [i["source_id"] for i in found["results"]] == [RENAMED_DE]
    assert found["results"][0]["destination_id"] == DEMO_MAPPING["dataElements"][RENAMED_DE]

    for params, field in (({"type": "nope"}, "type"), ({"status": "lost"}, "status")):
        resp = api.get(f"{BASE}/{assessed.pk}/items/", params)
        assert resp.status_code == 400 and field in resp.json()


def test_accept_makes_profile_mappings_with_who_and_when(
    assessed: MetadataAssessment, bob: User
) -> None:
    reviewable = items_of(assessed, status__in=["matched_by_code", "matched_by_name", "suggested"])
    resp = api_as(bob).post(
        f"{BASE}/{assessed.pk}/accept/", {"items": [i.pk for i in reviewable]}, format="json"
    )
    assert resp.status_code == 200, resp.json()
    assert {i["decision"] for i in resp.json()["items"]} == {"accepted"}
    rows = set(
        ProfileMapping.objects.filter(profile=assessed.profile).values_list(
            "type", "source_id", "destination_id", "assessment", "accepted_by"
        )
    )
    expected = {
        ("dataElements", s, d, assessed.pk, bob.pk) for s, d in DEMO_MAPPING["dataElements"].items()
    } | {
        ("categoryOptionCombos", s, d, assessed.pk, bob.pk)
        for s, d in DEMO_MAPPING["categoryOptionCombos"].items()
    }
    assert rows == expected
    assert all(m.accepted_at is not None for m in ProfileMapping.objects.all())
    assert profile_mappings(assessed.profile) == {
        "dataElements": DEMO_MAPPING["dataElements"],
        "categoryOptionCombos": DEMO_MAPPING["categoryOptionCombos"],
    }

    listed = api_as(bob).get(f"/api/v1/profiles/{assessed.profile_id}/mappings/").json()
    assert listed["count"] == len(expected)
    assert set(listed["results"][0]) >= {
        "id", "type", "source_id", "destination_id", "assessment", "accepted_by", "accepted_at"
    }  # fmt: skip


def test_accept_with_another_destination_and_reject(
    assessed: MetadataAssessment, sim_pair: SimPair, alice: User
) -> None:
    item = items_of(assessed, type="dataElements", source_id=RENAMED_DE)[0]
    # pick another destination element, found through the search endpoint by name
    other_name = "Malaria tests performed"
    search = api_as(alice).get(
        f"{BASE}/{assessed.pk}/destinations/", {"type": "dataElements", "search": "tests perf"}
    )
    assert search.status_code == 200
    other = next(o for o in search.json() if o["name"] == other_name)
    assert other["id"] == next(
        uid
        for uid, o in sim_pair.destination.state.objects["dataElements"].items()
        if o["name"] == other_name
    )
    resp = api_as(alice).post(
        f"{BASE}/{assessed.pk}/accept/",
        {"items": [item.pk], "destinations": {str(item.pk): other["id"]}},
        format="json",
    )
    assert resp.status_code == 200, resp.json()
    item.refresh_from_db()
    assert (item.destination_id, item.destination_name) == (other["id"], other_name)
    mapping = ProfileMapping.objects.get(type="dataElements", source_id=RENAMED_DE)
    assert mapping.destination_id == other["id"] and mapping.accepted_by == alice

    resp = api_as(alice).post(f"{BASE}/{assessed.pk}/reject/", {"items": [item.pk]}, format="json")
    assert resp.status_code == 200
    item.refresh_from_db()
    assert item.decision == "rejected"
    assert not ProfileMapping.objects.filter(source_id=RENAMED_DE).exists()


def test_review_refuses_malformed_input(assessed: MetadataAssessment, alice: User) -> None:
    api = api_as(alice)
    renamed = items_of(assessed, source_id=RENAMED_DE)[0]
    matched = items_of(assessed, status="matched")[0]
    other = MetadataAssessment.objects.create(profile=assessed.profile, types=["dataElements"])
    foreign = AssessmentItem.objects.create(
        assessment=other, type="dataElements", source_id="abcdefghijk", status="suggested"
    )
    cases = [
        ({"items": [foreign.pk]}, "items"),  # not of this assessment
        ({"items": [matched.pk]}, "items"),  # nothing to review
        ({"items": []}, "items"),
        ({"items": ["x"]}, "items"),
        ({"items": [renamed.pk], "destinations": {str(renamed.pk): "not-a-uid"}}, "destinations"),
        ({"items": [renamed.pk], "destinations": {"12345": "O7Zhf99GqBB"}}, "destinations"),
        # a well-formed UID the destination does not have
        ({"items": [renamed.pk], "destinations": {str(renamed.pk): "Zz000000000"}}, "destinations"),
    ]
    for body, field in cases:
        resp = api.post(f"{BASE}/{assessed.pk}/accept/", body, format="json")
        assert resp.status_code == 400, (body, resp.json())
        assert field in resp.json(), (body, resp.json())
    assert not ProfileMapping.objects.exists()
    renamed.refresh_from_db()
    assert renamed.decision == ""
    resp = api.get(f"{BASE}/{assessed.pk}/destinations/", {"type": "widgets"})
    assert resp.status_code == 400 and "type" in resp.json()


def test_payload_preview_is_what_would_be_posted(
    assessed: MetadataAssessment, bob: User, sim_pair: SimPair
) -> None:
    missing = items_of(assessed, status="missing")
    resp = api_as(bob).post(
        f"{BASE}/{assessed.pk}/payload/", {"items": [i.pk for i in missing]}, format="json"
    )
    assert resp.status_code == 200, resp.json()
    payload = resp.json()
    assert {t: [o["id"] for o in objs] for t, objs in payload.items() if objs} == DEMO_MISSING
    source_de = sim_pair.source.state.objects["dataElements"][DEMO_MISSING["dataElements"][0]]
    assert payload["dataElements"][0]["name"] == source_de["name"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"import_strategy": "DELETE"}, "import_strategy"),
        ({"atomic_mode": "SOME"}, "atomic_mode"),
        ({"dry_run": "maybe"}, "dry_run"),
        ({"items": [10**9]}, "items"),
    ],
)
def test_apply_refuses_malformed_input(
    assessed: MetadataAssessment, alice: User, body: dict, field: str
) -> None:
    missing = [i.pk for i in items_of(assessed, status="missing")]
    resp = api_as(alice).post(
        f"{BASE}/{assessed.pk}/apply/", {"items": missing, **body}, format="json"
    )
    assert resp.status_code == 400 and field in resp.json(), resp.json()
    assert not Run.objects.filter(kind="metadata_apply").exists()


def test_failed_validation_keeps_the_error_report_and_changes_nothing(
    assessed: MetadataAssessment, sim_pair: SimPair, alice: User, run_now, client
) -> None:
    missing_de = DEMO_MISSING["dataElements"][0]
    combo = sim_pair.source.state.objects["dataElements"][missing_de]["categoryCombo"]["id"]
    # The destination loses the combo after the assessment: the payload references it anyway.
    del sim_pair.destination.state.objects["categoryCombos"][combo]
    before = json.dumps(sim_pair.destination.state.objects, sort_keys=True, default=str)
    item = items_of(assessed, source_id=missing_de)[0]
    run = run_now(
        lambda: start_metadata_apply(
            assessed, user=alice, trigger="api", items=[item.pk], dry_run=False
        )
    )
    assert run.status == Run.Status.FAILED
    assert "nothing was changed" in run.error
    errors = list(MetadataImportError.objects.filter(run=run))
    assert [(e.error_code, e.type, e.object_id, e.mode) for e in errors] == [
        ("E5002", "dataElements", missing_de, "VALIDATE")
    ]
    assert errors[0].object_name == item.source_name and errors[0].message
    assert json.dumps(sim_pair.destination.state.objects, sort_keys=True, default=str) == before
    # the run page shows the report
    client.force_login(alice)
    page = client.get(f"/runs/{run.pk}/").content.decode()
    assert "E5002" in page and missing_de in page and item.source_name in page


def test_apply_commit_fills_the_gaps(
    assessed: MetadataAssessment, sim_pair: SimPair, alice: User, run_now
) -> None:
    missing = items_of(assessed, status="missing")
    with_api = api_as(alice)
    validate = run_now(
        lambda: Run.objects.get(
            pk=with_api.post(
                f"{BASE}/{assessed.pk}/apply/",
                {"items": [i.pk for i in missing], "dry_run": True},
                format="json",
            ).json()["run"]
        )
    )
    assert validate.status == Run.Status.SUCCEEDED, validate.error
    assert validate.stats["validation"]["status"] == "OK"
    for type_, uids in DEMO_MISSING.items():  # a validation writes nothing
        assert not set(uids) & set(sim_pair.destination.state.objects[type_])

    resp_run = run_now(
        lambda: Run.objects.get(
            pk=with_api.post(
                f"{BASE}/{assessed.pk}/apply/",
                {"items": [i.pk for i in missing], "dry_run": False, "atomic_mode": "ALL"},
                format="json",
            ).json()["run"]
        )
    )
    assert resp_run.status == Run.Status.SUCCEEDED, resp_run.error
    assert resp_run.stats["created"] == sum(len(u) for u in DEMO_MISSING.values())
    assert resp_run.stats["commit"]["counts"] == {
        t: {"created": len(u), "updated": 0, "ignored": 0, "deleted": 0}
        for t, u in DEMO_MISSING.items()
    }
    for type_, uids in DEMO_MISSING.items():
        assert set(uids) <= set(sim_pair.destination.state.objects[type_])

    from metadata_sync.services import start_metadata_assessment

    again = run_now(lambda: start_metadata_assessment(assessed, user=alice, trigger="api"))
    assert again.status == Run.Status.SUCCEEDED
    assessed.refresh_from_db()
    assert not items_of(assessed, status="missing")
    assert all("missing" not in c for c in assessed.counts.values())


def test_a_sync_waits_for_a_running_assessment(assessed: MetadataAssessment, alice: User) -> None:
    from metadata_sync.services import start_metadata_assessment

    active = start_metadata_assessment(assessed, user=alice, trigger="api")  # stays queued
    missing = [i.pk for i in items_of(assessed, status="missing")]
    resp = api_as(alice).post(f"{BASE}/{assessed.pk}/apply/", {"items": missing}, format="json")
    assert resp.status_code == 409
    assert resp.json()["run"] == resp.json()["active_run"] == active.pk


def test_mappings_are_edited_and_deleted_by_admins(
    assessed: MetadataAssessment, alice: User
) -> None:
    mapping = ProfileMapping.objects.create(
        profile=assessed.profile, type="organisationUnits", source_id="abcdefghijk",
        destination_id="bcdefghijkl", assessment=assessed, accepted_by=alice,
    )  # fmt: skip
    api = api_as(alice)
    bad = api.patch(f"/api/v1/profile-mappings/{mapping.pk}/", {"destination_id": "x"})
    assert bad.status_code == 400 and "destination_id" in bad.json()
    ok = api.patch(f"/api/v1/profile-mappings/{mapping.pk}/", {"destination_id": "Cdefghijklm"})
    assert ok.status_code == 200
    assert profile_mappings(assessed.profile.pk) == {
        "organisationUnits": {"abcdefghijk": "Cdefghijklm"}
    }
    assert api.delete(f"/api/v1/profile-mappings/{mapping.pk}/").status_code == 204
    assert profile_mappings(assessed.profile) == {}


def test_all_types_are_assessable(assessed: MetadataAssessment) -> None:
    assert assessed.types == list(ORDER)
