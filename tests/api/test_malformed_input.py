"""Malformed bodies and parameters are 400s with field errors, never 500s (issue 8.3).

The cases come from a review of every serializer path that indexes validated data, and of a
probe like the generated OpenAPI run: wrong types, missing nested keys under PATCH (DRF makes
nested fields optional when the root is partial), out-of-range integers and NUL characters.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from connections.models import ConnectionProfile, Instance
from tests.conftest import api_as
from transfers.models import Transfer, TransferMapping

BIG = 2**70  # beyond any database integer


@pytest.fixture
def transfer(profile: ConnectionProfile) -> Transfer:
    t = Transfer.objects.create(
        name="Monthly HMIS", profile=profile, data_set="BfMAe6Itzgt", periods=["202401"],
        org_units=["ImspTQPwCqd"],
    )  # fmt: skip
    TransferMapping.objects.create(
        transfer=t, source_data_element="fbfJHSPpUQD", target_data_element="cYeuwXTCPkU"
    )
    return t


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
