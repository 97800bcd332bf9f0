"""Credentials DHIS2 could never accept are refused when entered, and never crash later."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from connections.models import ConnectionProfile, Instance
from connections.services import CredentialsMissing, client_for
from tests.conftest import api_as


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"auth_type": "basic", "username": "dist:rict", "password": "pw-SECRET-1"}, "username"),
        ({"auth_type": "token", "token": "d2pat_abc def"}, "token"),
    ],
)
def test_unusable_credentials_are_400(alice: User, body: dict, field: str) -> None:
    resp = api_as(alice).post(
        "/api/v1/instances/",
        {"name": "X", "base_url": "https://x.example.org", **body},
        format="json",
    )
    assert resp.status_code == 400
    assert field in resp.json()
    assert "pw-SECRET-1" not in resp.content.decode()


def test_a_stored_unusable_credential_is_a_409_message(
    bob: User, source_instance: Instance
) -> None:
    Instance.objects.filter(pk=source_instance.pk).update(username="dist:rict")
    source_instance.refresh_from_db()
    with pytest.raises(CredentialsMissing, match="enter it again"):
        client_for(source_instance)
    resp = api_as(bob).get(f"/api/v1/instances/{source_instance.pk}/data-sets/")
    assert resp.status_code == 409
    assert "s3cret" not in resp.content.decode()


def test_deleting_what_is_still_used_is_409_not_500(
    alice: User, profile: ConnectionProfile
) -> None:
    resp = api_as(alice).delete(f"/api/v1/instances/{profile.source_id}/")
    assert resp.status_code == 409
    assert "Source to national" in resp.json()["detail"]
    assert Instance.objects.filter(pk=profile.source_id).exists()
