"""The role matrix of every API endpoint: anonymous, charlie (no role), bob (Operator), alice (Admin)."""

from __future__ import annotations

import pytest
import respx
from django.contrib.auth.models import User

from connections.models import ConnectionProfile, Instance
from jobs.models import Run
from tests.conftest import ADMINS, ALICE, ANON, BOB, CHARLIE, READERS, api_as, expected_status


@pytest.fixture
def run(db) -> Run:
    return Run.objects.create(kind="connection_check", trigger="web", status="running")


def new_instance_body(name: str = "District DHIS2") -> dict:
    return {
        "name": name,
        "base_url": "https://district.example.org/dhis/",
        "auth_type": "basic",
        "username": "admin",
        "password": "district",
    }


@pytest.mark.parametrize("actor", [ANON, CHARLIE, BOB, ALICE])
class TestMatrix:
    def test_list_instances(self, actors, actor, source_instance) -> None:
        resp = api_as(actors[actor]).get("/api/v1/instances/")
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_retrieve_instance(self, actors, actor, source_instance) -> None:
        resp = api_as(actors[actor]).get(f"/api/v1/instances/{source_instance.pk}/")
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_create_instance(self, actors, actor) -> None:
        resp = api_as(actors[actor]).post("/api/v1/instances/", new_instance_body(), format="json")
        assert resp.status_code == expected_status(actor, ADMINS, 201)
        assert Instance.objects.filter(name="District DHIS2").exists() == (actor == ALICE)

    def test_update_instance(self, actors, actor, source_instance) -> None:
        resp = api_as(actors[actor]).patch(
            f"/api/v1/instances/{source_instance.pk}/", {"timeout_seconds": 90}, format="json"
        )
        assert resp.status_code == expected_status(actor, ADMINS, 200)
        source_instance.refresh_from_db()
        assert (source_instance.timeout_seconds == 90) == (actor == ALICE)

    def test_delete_instance(self, actors, actor, source_instance) -> None:
        resp = api_as(actors[actor]).delete(f"/api/v1/instances/{source_instance.pk}/")
        assert resp.status_code == expected_status(actor, ADMINS, 204)

    @respx.mock
    def test_test_instance(self, actors, actor, source_instance) -> None:
        respx.get("https://source.example.org/dhis/api/system/info").respond(
            200, json={"version": "2.39.5", "systemName": "Source"}
        )
        respx.get("https://source.example.org/dhis/api/me").respond(200, json={"username": "admin"})
        resp = api_as(actors[actor]).post(f"/api/v1/instances/{source_instance.pk}/test/")
        assert resp.status_code == expected_status(actor, READERS, 200)
        if resp.status_code == 200:
            assert resp.json() == {
                "ok": True,
                "version": "2.39.5",
                "message": "Connected to Source 2.39.5 as admin.",
            }

    def test_list_profiles(self, actors, actor, profile) -> None:
        resp = api_as(actors[actor]).get("/api/v1/profiles/")
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_create_profile(self, actors, actor, source_instance, destination_instance) -> None:
        body = {"name": "P", "source": source_instance.pk, "destination": destination_instance.pk}
        resp = api_as(actors[actor]).post("/api/v1/profiles/", body, format="json")
        assert resp.status_code == expected_status(actor, ADMINS, 201)

    def test_update_profile(self, actors, actor, profile) -> None:
        resp = api_as(actors[actor]).patch(
            f"/api/v1/profiles/{profile.pk}/", {"description": "nightly"}, format="json"
        )
        assert resp.status_code == expected_status(actor, ADMINS, 200)

    def test_delete_profile(self, actors, actor, profile) -> None:
        resp = api_as(actors[actor]).delete(f"/api/v1/profiles/{profile.pk}/")
        assert resp.status_code == expected_status(actor, ADMINS, 204)

    def test_list_runs(self, actors, actor, run) -> None:
        resp = api_as(actors[actor]).get("/api/v1/runs/")
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_retrieve_run(self, actors, actor, run) -> None:
        resp = api_as(actors[actor]).get(f"/api/v1/runs/{run.pk}/")
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_run_log(self, actors, actor, run) -> None:
        resp = api_as(actors[actor]).get(f"/api/v1/runs/{run.pk}/log/")
        assert resp.status_code == expected_status(actor, READERS, 200)

    def test_cancel_run(self, actors, actor, run) -> None:
        resp = api_as(actors[actor]).post(f"/api/v1/runs/{run.pk}/cancel/")
        assert resp.status_code == expected_status(actor, READERS, 200)
        run.refresh_from_db()
        assert run.cancel_requested == (actor in READERS)

    def test_runs_cannot_be_created_through_the_api(self, actors, actor) -> None:
        resp = api_as(actors[actor]).post(
            "/api/v1/runs/", {"kind": "connection_check"}, format="json"
        )
        assert resp.status_code in ({401} if actor == ANON else {403, 405})
        assert not Run.objects.exists()

    def test_schema(self, actors, actor) -> None:
        resp = api_as(actors[actor]).get("/api/schema/")
        assert resp.status_code == (401 if actor == ANON else 200)


def test_token_endpoint_returns_token_and_the_token_authenticates(bob: User) -> None:
    from rest_framework.test import APIClient

    from tests.conftest import PASSWORD

    client = APIClient()
    resp = client.post(
        "/api/v1/auth/token/", {"username": "bob", "password": PASSWORD}, format="json"
    )
    assert resp.status_code == 200
    token = resp.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/runs/").status_code == 200
    bad = APIClient().post(
        "/api/v1/auth/token/", {"username": "bob", "password": "nope"}, format="json"
    )
    assert bad.status_code == 400


def test_profile_with_same_source_and_destination_is_400(alice: User, source_instance) -> None:
    body = {"name": "Loop", "source": source_instance.pk, "destination": source_instance.pk}
    resp = api_as(alice).post("/api/v1/profiles/", body, format="json")
    assert resp.status_code == 400
    assert "destination" in resp.json()
    assert not ConnectionProfile.objects.filter(name="Loop").exists()
