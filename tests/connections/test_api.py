"""Instance API: validation errors are 400s with field errors, and secrets never come back."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User

from connections import crypto
from connections.models import Instance
from tests.conftest import SOURCE_PASSWORD, api_as, district_body
from tests.connections.conftest import SavedInstances, assert_no_secret


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "base_url": "not a url", "auth_type": "basic", "username": "a", "password": "b"}, "base_url"),
        ({"name": "X", "base_url": "ftp://host", "auth_type": "basic", "username": "a", "password": "b"}, "base_url"),
        ({"name": "X", "base_url": "https://h.org", "auth_type": "basic", "username": "a"}, "password"),
        ({"name": "X", "base_url": "https://h.org", "auth_type": "basic", "password": "b"}, "username"),
        ({"name": "X", "base_url": "https://h.org", "auth_type": "token"}, "token"),
        ({"name": "X", "base_url": "https://h.org", "auth_type": "oauth"}, "auth_type"),
        ({"name": "X", "base_url": "https://h.org", "auth_type": "token", "token": "t", "timeout_seconds": 0}, "timeout_seconds"),
        ({"base_url": "https://h.org", "auth_type": "token", "token": "t"}, "name"),
    ],
)  # fmt: skip
def test_invalid_instance_is_400_with_field_error(alice: User, body: dict, field: str) -> None:
    resp = api_as(alice).post("/api/v1/instances/", body, format="json")
    assert resp.status_code == 400, resp.content
    assert field in resp.json()
    assert not Instance.objects.exists()


def test_created_instance_stores_ciphertext_and_never_returns_secret(alice: User) -> None:
    body = district_body("district-Secret-1", base_url="https://district.example.org/dhis/api/")
    resp = api_as(alice).post("/api/v1/instances/", body, format="json")
    assert resp.status_code == 201
    data = resp.json()
    assert "password" not in data and "token" not in data
    assert data["has_password"] is True
    instance = Instance.objects.get()
    assert crypto.decrypt(instance.password_encrypted) == "district-Secret-1"
    assert "district-Secret-1" not in instance.password_encrypted
    assert instance.password_encrypted not in resp.content.decode()


def test_update_without_password_keeps_the_stored_one(
    alice: User, source_instance: Instance
) -> None:
    resp = api_as(alice).patch(
        f"/api/v1/instances/{source_instance.pk}/", {"name": "Renamed"}, format="json"
    )
    assert resp.status_code == 200
    source_instance.refresh_from_db()
    assert crypto.decrypt(source_instance.password_encrypted) == SOURCE_PASSWORD


def test_no_response_contains_a_secret(viewer: User, saved_instances: SavedInstances) -> None:
    client = api_as(viewer)
    urls = [
        "/api/v1/instances/",
        f"/api/v1/instances/{saved_instances.source.pk}/",
        f"/api/v1/instances/{saved_instances.destination.pk}/",
        "/api/schema/",
    ]
    assert_no_secret(client, urls, saved_instances.secrets)
    listed = json.loads(client.get("/api/v1/instances/").content)["results"]
    assert {"password", "token", "password_encrypted", "token_encrypted"}.isdisjoint(listed[0])
