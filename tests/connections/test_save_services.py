"""Instances and profiles are saved by `connections.services`, whatever the face."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.test import Client

from connections import crypto
from connections.models import ConnectionProfile, Instance
from connections.services import save_instance, save_profile
from tests.conftest import api_as


def test_source_must_differ_from_destination_on_every_face(
    alice: User, profile: ConnectionProfile
) -> None:
    with pytest.raises(ValidationError) as caught:
        save_profile(profile, user=None, destination=profile.source)
    assert set(caught.value.message_dict) == {"destination"}
    resp = api_as(alice).patch(
        f"/api/v1/profiles/{profile.pk}/", {"destination": profile.source_id}, format="json"
    )
    assert resp.status_code == 400 and "destination" in resp.json()
    profile.refresh_from_db()
    assert profile.destination_id != profile.source_id


def test_secrets_are_write_only_and_blank_keeps_them(db) -> None:
    instance = save_instance(
        None, user=None, name="X", base_url="https://x.example.org", username="u",
        password="first-pass",
    )  # fmt: skip
    stored = Instance.objects.get(pk=instance.pk).password_encrypted
    assert crypto.decrypt(stored) == "first-pass"
    save_instance(instance, user=None, password="", timeout_seconds=30)
    again = Instance.objects.get(pk=instance.pk)
    assert again.password_encrypted == stored and again.timeout_seconds == 30
    with pytest.raises(ValidationError) as caught:
        save_instance(instance, user=None, auth_type="token", token="d2pat_with space")
    assert set(caught.value.message_dict) == {"token"}


def test_the_admin_saves_instances_through_the_service(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    form = {
        "name": "Adm", "base_url": "https://adm.example.org", "auth_type": "basic",
        "username": "u", "password": "adm-pass", "token": "", "timeout_seconds": "60",
        "verify_tls": "on",
    }  # fmt: skip
    resp = client.post("/admin/connections/instance/add/", {**form, "username": ""})
    assert resp.status_code == 200 and not Instance.objects.exists()
    resp = client.post("/admin/connections/instance/add/", form)
    assert resp.status_code == 302
    assert crypto.decrypt(Instance.objects.get(name="Adm").password_encrypted) == "adm-pass"
