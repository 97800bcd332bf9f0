"""Malformed bodies and parameters are 400s with field errors, never 500s (issue 8.3).

The cases come from a review of every serializer path that indexes validated data, and of a
probe like the generated OpenAPI run: wrong types, missing nested keys under PATCH (DRF makes
nested fields optional when the root is partial), out-of-range integers and NUL characters.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from connections.models import ConnectionProfile, Instance
from tests.conftest import api_as, mapped_transfer
from transfers.models import Transfer

BIG = 2**70  # beyond any database integer


@pytest.fixture
def transfer(profile: ConnectionProfile) -> Transfer:
    return mapped_transfer(profile, ["202401"])


TRANSFER_PATCHES = [
    ({"mappings": [{"source_category_option_combo": "", "target_data_element": "0",
                    "target_category_option_combo": ""}]}, "mappings"),
    ({"mappings": [{"source_data_element": "s46m5MS0hxu"}]}, "mappings"),
    ({"id_scheme": "CODE", "mappings": [{"target_data_element": "x"}]}, "mappings"),
    ({"mappings": [{}]}, "mappings"),
    ({"mappings": ["x", 3]}, "mappings"),
    ({"mappings": {"a": 1}}, "mappings"),
    ({"mappings": None}, "mappings"),
    ({"profile": BIG}, "profile"),
    ({"chunk_size": BIG}, "chunk_size"),
    ({"relative_count": BIG}, "relative_count"),
    ({"org_unit_map": ["a"]}, "org_unit_map"),
    ({"attribute_option_combo_map": "x"}, "attribute_option_combo_map"),
    ({"periods": {"a": 1}}, "periods"),
    ({"periods": [1, None]}, "periods"),
    ({"org_units": "ImspTQPwCqd"}, "org_units"),
    ({"name": "x\x00y"}, "name"),
]  # fmt: skip


@pytest.mark.parametrize(("patch", "field"), TRANSFER_PATCHES)
def test_transfer_patch_is_400_with_the_field(
    alice: User, transfer: Transfer, patch: dict, field: str
) -> None:
    client = api_as(alice)
    client.raise_request_exception = False  # a 500 must show as a status, not a traceback
    resp = client.patch(f"/api/v1/transfers/{transfer.pk}/", patch, format="json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()
    assert list(transfer.mappings.values_list("source_data_element", flat=True)) == ["fbfJHSPpUQD"]


def test_resume_with_an_out_of_range_run_is_400(alice: User, transfer: Transfer) -> None:
    resp = api_as(alice).post(
        f"/api/v1/transfers/{transfer.pk}/resume/", {"run": BIG}, format="json"
    )
    assert resp.status_code == 400 and "run" in resp.json()


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"timeout_seconds": BIG}, "timeout_seconds"),
        ({"auth_type": "token"}, "token"),
        ({"base_url": "http://\x00"}, "base_url"),
        ({"verify_tls": "sometimes"}, "verify_tls"),
    ],
)
def test_instance_patch_is_400_with_the_field(
    alice: User, source_instance: Instance, patch: dict, field: str
) -> None:
    client = api_as(alice)
    client.raise_request_exception = False
    resp = client.patch(f"/api/v1/instances/{source_instance.pk}/", patch, format="json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"job_id": BIG}, "job_id"),
        ({"job_id": None}, "job_id"),
        ({"max_consecutive_failures": BIG}, "max_consecutive_failures"),
        ({"notify_emails": [1]}, "notify_emails"),
        ({"notify_emails": {"a": "b"}}, "notify_emails"),
        ({"cron": ["0", "2"]}, "cron"),
        ({"timezone": "a\x00b"}, "timezone"),
    ],
)
def test_schedule_create_is_400_with_the_field(
    alice: User, transfer: Transfer, changes: dict, field: str
) -> None:
    body = {"name": "Nightly", "job_type": "transfer", "job_id": transfer.pk,
            "cron": "0 2 * * *", "timezone": "UTC", **changes}  # fmt: skip
    client = api_as(alice)
    client.raise_request_exception = False
    resp = client.post("/api/v1/schedules/", body, format="json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cron=0%202%20*%20*%20*&timezone=a%00b", "timezone"),
        ("cron=0%202%20*%20*%20*%00", "cron"),
        ("cron=0%202%20*%20*%20*&count=x", "count"),
        ("cron=", "cron"),
    ],
)
def test_schedule_preview_is_400_with_the_field(bob: User, query: str, field: str) -> None:
    resp = api_as(bob).get(f"/api/v1/schedules/preview/?{query}")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()


# --- Every endpoint family (issue 13): a wrong value is a 400 naming the field. -------------
def _world_url(fmt: str):
    return lambda w: fmt.format(
        **{
            k: w.pk_for(k.replace("_", "-"))
            for k in (
                "instances",
                "profiles",
                "runs",
                "schedules",
                "transfers",
                "metadata_assessments",
                "profile_mappings",
                "completeness_assessments",
                "tracker_transfers",
            )
            if "{" + k in fmt
        }
    )


FAMILY_CASES = [
    # instances: URLs without a scheme or with credentials, unknown enum values, sizes
    ("post", "/api/v1/instances/", {"name": "X", "base_url": "dhis.example.org",
     "auth_type": "basic", "username": "u", "password": "p"}, "base_url"),
    ("post", "/api/v1/instances/", {"name": "X", "base_url": "https://u:p@dhis.example.org",
     "auth_type": "basic", "username": "u", "password": "p"}, "base_url"),
    ("post", "/api/v1/instances/", {"name": "X", "base_url": "ftp://dhis.example.org",
     "auth_type": "basic", "username": "u", "password": "p"}, "base_url"),
    ("patch", "/api/v1/instances/{instances}/", {"auth_type": "kerberos"}, "auth_type"),
    ("patch", "/api/v1/instances/{instances}/", {"timeout_seconds": -5}, "timeout_seconds"),
    # profiles: the same instance on both ends, unknown instances
    ("patch", "/api/v1/profiles/{profiles}/", {"destination": "SRC"}, "destination"),
    ("patch", "/api/v1/profiles/{profiles}/", {"source": 99999}, "source"),
    # schedules: invalid cron, unknown time zone, unknown job type, unknown job
    ("patch", "/api/v1/schedules/{schedules}/", {"cron": "61 * * * *"}, "cron"),
    ("patch", "/api/v1/schedules/{schedules}/", {"cron": "every day"}, "cron"),
    ("patch", "/api/v1/schedules/{schedules}/", {"timezone": "Mars/Olympus"}, "timezone"),
    ("patch", "/api/v1/schedules/{schedules}/", {"job_type": "launch_rockets"}, "job_type"),
    ("get", "/api/v1/schedules/preview/?cron=*%20*%20*%20*", None, "cron"),
    # transfers: UIDs of the wrong length or alphabet, unknown periods, sizes, enums
    ("patch", "/api/v1/transfers/{transfers}/", {"data_set": "BfMAe6Itzg"}, "data_set"),
    ("patch", "/api/v1/transfers/{transfers}/", {"data_set": "BfMAe6Itzg!"}, "data_set"),
    ("patch", "/api/v1/transfers/{transfers}/", {"org_units": ["1mspTQPwCqd"]}, "org_units"),
    ("patch", "/api/v1/transfers/{transfers}/", {"periods": ["2024-13"]}, "periods"),
    ("patch", "/api/v1/transfers/{transfers}/", {"periods": ["202413"]}, "periods"),
    ("patch", "/api/v1/transfers/{transfers}/", {"chunk_size": -1}, "chunk_size"),
    ("patch", "/api/v1/transfers/{transfers}/", {"chunk_size": 10**9}, "chunk_size"),
    ("patch", "/api/v1/transfers/{transfers}/", {"unmapped": "maybe"}, "unmapped"),
    ("patch", "/api/v1/transfers/{transfers}/", {"relative_period": "LAST_99_EONS",
                                                 "periods": []}, "relative_period"),
    ("post", "/api/v1/transfers/{transfers}/run/", {"dry_run": "perhaps"}, "dry_run"),
    # runs: cancel takes no body, so a bad id is a 404 (below); filters
    ("get", "/api/v1/runs/?status=exploded", None, "status"),
    ("get", "/api/v1/runs/{runs}/log/?after=x", None, "after"),
    # transfer-conflicts and audit filters
    ("get", "/api/v1/transfer-conflicts/?run=abc", None, "run"),
    ("get", "/api/v1/audit/?action=exploded", None, "action"),
    # tracker transfers: impossible date ranges, UIDs, enums
    ("patch", "/api/v1/tracker-transfers/{tracker_transfers}/",
     {"start_date": "2024-05-01", "end_date": "2024-01-01"}, "end_date"),
    ("patch", "/api/v1/tracker-transfers/{tracker_transfers}/", {"program": "short"}, "program"),
    ("patch", "/api/v1/tracker-transfers/{tracker_transfers}/", {"ou_mode": "ALL"}, "ou_mode"),
    ("patch", "/api/v1/tracker-transfers/{tracker_transfers}/", {"start_date": "2024-02-30"},
     "start_date"),
    # metadata assessments (+items/payload/apply/accept/reject) and profile mappings
    ("post", "/api/v1/metadata-assessments/", {"profile": "PROFILE", "types": ["dragons"]},
     "types"),
    ("get", "/api/v1/metadata-assessments/{metadata_assessments}/items/?status=odd", None,
     "status"),
    ("post", "/api/v1/metadata-assessments/{metadata_assessments}/payload/", {"items": ["x"]},
     "items"),
    ("post", "/api/v1/metadata-assessments/{metadata_assessments}/apply/", {"items": []},
     "items"),
    ("post", "/api/v1/metadata-assessments/{metadata_assessments}/accept/", {"items": [BIG]},
     "items"),
    ("post", "/api/v1/metadata-assessments/{metadata_assessments}/reject/", {"items": "all"},
     "items"),
    ("patch", "/api/v1/profile-mappings/{profile_mappings}/", {"destination_id": "abc"},
     "destination_id"),
    # completeness assessments (+results/export/mark)
    ("post", "/api/v1/completeness-assessments/", {"instance": "SRC", "data_set": "short",
     "periods": ["202401"], "org_units": ["ImspTQPwCqd"]}, "data_set"),
    ("post", "/api/v1/completeness-assessments/", {"instance": "SRC", "data_set": "BfMAe6Itzgt",
     "periods": ["202401"], "org_units": ["ImspTQPwCqd"], "threshold": 150}, "threshold"),
    ("post", "/api/v1/completeness-assessments/{completeness_assessments}/mark/",
     {"action": "obliterate"}, "action"),
]  # fmt: skip


@pytest.fixture
def world(alice: User):
    from tests.config.world import build_world

    return build_world(owner=alice)


@pytest.mark.parametrize(("method", "url", "body", "field"), FAMILY_CASES)
def test_every_family_answers_400_with_the_field(
    alice: User, world, method: str, url: str, body: dict | None, field: str
) -> None:
    def fill(value):
        if value == "SRC":
            return world.source.pk
        if value == "PROFILE":
            return world.profile.pk
        return value

    body = {k: fill(v) for k, v in (body or {}).items()}
    client = api_as(alice)
    client.raise_request_exception = False
    send = getattr(client, method)
    resp = (
        send(_world_url(url)(world), body, format="json") if body else send(_world_url(url)(world))
    )
    assert resp.status_code == 400, resp.content
    assert field in resp.json(), resp.json()


def test_a_run_that_does_not_exist_cannot_be_cancelled(bob: User) -> None:
    assert api_as(bob).post("/api/v1/runs/abc/cancel/").status_code == 404
    assert api_as(bob).post(f"/api/v1/runs/{BIG}/cancel/").status_code == 404


def test_profile_with_same_source_and_destination_is_400(alice: User, source_instance) -> None:
    body = {"name": "Loop", "source": source_instance.pk, "destination": source_instance.pk}
    resp = api_as(alice).post("/api/v1/profiles/", body, format="json")
    assert resp.status_code == 400
    assert "destination" in resp.json()
    assert not ConnectionProfile.objects.filter(name="Loop").exists()
