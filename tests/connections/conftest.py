"""Shared fixtures for the connection tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.models import Instance
from tests.conftest import ALICE, BOB, DEST_TOKEN, SOURCE_PASSWORD


@dataclass
class SavedInstances:
    """The two saved instances and every form their credentials take, plain and encrypted:
    none of `secrets` may appear in any page or API answer."""

    source: Instance
    destination: Instance
    secrets: list[str]


@pytest.fixture
def saved_instances(source_instance: Instance, destination_instance: Instance) -> SavedInstances:
    secrets = [
        SOURCE_PASSWORD,
        DEST_TOKEN,
        source_instance.password_encrypted,
        destination_instance.token_encrypted,
    ]
    return SavedInstances(source_instance, destination_instance, secrets)


@pytest.fixture(params=[ALICE, BOB])
def viewer(request: pytest.FixtureRequest, actors: dict[str, User]) -> User:
    """Each user who may see the saved instances in turn: the admin, then the operator."""
    return actors[request.param]


def assert_no_secret(client: Client, urls: list[str], secrets: list[str]) -> None:
    """GET every one of `urls` with `client` (each must answer 200) and check that no secret
    appears in any answer."""
    for url in urls:
        resp = client.get(url)
        assert resp.status_code == 200, url
        body = resp.content.decode()
        for secret in secrets:
            assert secret not in body, url
