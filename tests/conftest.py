"""Shared fixtures. Named actors make permission tests read like stories:

alice is an Admin, bob an Operator, charlie is logged in with no role at all.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import ADMIN, OPERATOR
from connections.models import ConnectionProfile, Instance

PASSWORD = "correct-horse-battery-staple"
SOURCE_PASSWORD = "s3cret-source-pass"
DEST_TOKEN = "d2pat_destinationtokenABCDEFGHIJKLMNOP1234567890"


def _user(username: str, role: str | None) -> User:
    # The groups come from `migrate` (and the post_migrate of every flush), as in production.
    user = User.objects.create_user(username, f"{username}@example.org", PASSWORD, is_staff=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def alice(db) -> User:
    return _user("alice", ADMIN)


@pytest.fixture
def bob(db) -> User:
    return _user("bob", OPERATOR)


@pytest.fixture
def charlie(db) -> User:
    return _user("charlie", None)


# --- The role matrix: every endpoint is tried by these four, by name. ---------------------
ANON, CHARLIE, BOB, ALICE = "anonymous", "charlie", "bob", "alice"
READERS = {BOB, ALICE}  # may see (and launch)
ADMINS = {ALICE}  # may change configuration


@pytest.fixture
def actors(alice: User, bob: User, charlie: User) -> dict[str, User | None]:
    return {ANON: None, CHARLIE: charlie, BOB: bob, ALICE: alice}


def expected_status(actor: str, allowed: set[str], ok: int) -> int:
    """What the API answers `actor`: 401 without credentials, 403 without the permission."""
    if actor == ANON:
        return 401
    return ok if actor in allowed else 403


def page_as(user: User | None = None) -> Client:
    """A browser session for the pages and the admin, logged in as `user` (None: anonymous)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def api_as(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def source_instance(db) -> Instance:
    instance = Instance(
        name="Source HMIS",
        base_url="https://source.example.org/dhis",
        auth_type=Instance.AuthType.BASIC,
        username="admin",
    )
    instance.set_password(SOURCE_PASSWORD)
    instance.save()
    return instance


@pytest.fixture
def destination_instance(db) -> Instance:
    instance = Instance(
        name="National HMIS",
        base_url="https://national.example.org",
        auth_type=Instance.AuthType.TOKEN,
    )
    instance.set_token(DEST_TOKEN)
    instance.save()
    return instance


@pytest.fixture
def profile(source_instance: Instance, destination_instance: Instance) -> ConnectionProfile:
    return ConnectionProfile.objects.create(
        name="Source to national", source=source_instance, destination=destination_instance
    )
