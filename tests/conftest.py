"""Shared fixtures. Named actors make permission tests read like stories:

alice is an Admin, bob an Operator, charlie is logged in with no role at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import ADMIN, OPERATOR
from connections.models import ConnectionProfile, Instance
from jobs.models import Schedule
from jobs.schedules import save_schedule
from transfers.models import Transfer, TransferMapping

if TYPE_CHECKING:
    from simulator import Simulator

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


def district_body(password: str, **changes: object) -> dict[str, object]:
    """What a client sends to save the District instance (basic auth as admin): the API's
    JSON body or the admin form's fields, with `changes` on top."""
    return {
        "name": "District",
        "base_url": "https://district.example.org/dhis",
        "auth_type": "basic",
        "username": "admin",
        "password": password,
        **changes,
    }


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


def instance_with_secret(
    name: str, base_url: str, *, password: str = "", token: str = "", **fields: object
) -> Instance:
    """A saved instance that signs in with `password` or, given `token`, a personal access
    token (the auth type follows), encrypted as the model does; `fields` are further
    Instance fields (username, timeout_seconds)."""
    auth_type = Instance.AuthType.TOKEN if token else Instance.AuthType.BASIC
    instance = Instance(name=name, base_url=base_url, auth_type=auth_type, **fields)
    if password:
        instance.set_password(password)
    if token:
        instance.set_token(token)
    instance.save()
    return instance


@pytest.fixture
def source_instance(db) -> Instance:
    return instance_with_secret(
        "Source HMIS", "https://source.example.org/dhis", username="admin", password=SOURCE_PASSWORD
    )


@pytest.fixture
def destination_instance(db) -> Instance:
    return instance_with_secret("National HMIS", "https://national.example.org", token=DEST_TOKEN)


def mapped_transfer(profile: ConnectionProfile, periods: list[str]) -> Transfer:
    """The transfer the API and page tests work on: one data set and org unit of the Sierra
    Leone demo, one data element mapped to another."""
    transfer = Transfer.objects.create(
        name="Monthly HMIS", profile=profile, data_set="BfMAe6Itzgt", periods=periods,
        org_units=["ImspTQPwCqd"],
    )  # fmt: skip
    TransferMapping.objects.create(
        transfer=transfer, source_data_element="fbfJHSPpUQD", target_data_element="cYeuwXTCPkU"
    )
    return transfer


def transfer_schedule(
    transfer: Transfer, name: str, cron: str, tz: str, *, user: User | None = None, **fields: object
) -> Schedule:
    """A schedule `name` that runs `transfer` at `cron` in time zone `tz`, saved and armed
    through `save_schedule` as by `user`; `fields` are further Schedule fields."""
    schedule = Schedule(
        name=name, job_type="transfer", job_id=transfer.pk, cron=cron, timezone=tz, **fields
    )
    return save_schedule(schedule, user=user)


@pytest.fixture
def profile(source_instance: Instance, destination_instance: Instance) -> ConnectionProfile:
    return ConnectionProfile.objects.create(
        name="Source to national", source=source_instance, destination=destination_instance
    )


# --- Time that only moves when the code under test sleeps ---------------------------------
class FakeTime:
    """A clock that only moves when the code under test sleeps (pass `sleep` and `clock` to
    the poller or client under test; `sleeps` is what it waited, in order)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now

    @property
    def timing(self) -> dict[str, Callable[..., Any]]:
        """`sleep` and `clock` as keyword arguments: `poll(..., **fake.timing)`."""
        return {"sleep": self.sleep, "clock": self.clock}


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


# --- Two simulators served on loopback, with a saved profile between them -----------------
@dataclass
class Served:
    source: Simulator
    destination: Simulator
    profile: ConnectionProfile
    source_url: str = ""


def saved_instance(name: str, url: str, *, timeout: int = 10) -> Instance:
    """An instance at `url` with the simulators' credentials (admin / district), saved."""
    return instance_with_secret(
        name, url, username="admin", timeout_seconds=timeout, password="district"
    )


@contextmanager
def served_profile(
    source: Simulator,
    destination: Simulator,
    *,
    name: str = "Demo",
    source_name: str = "Source",
    destination_name: str = "Dest",
    timeout: int = 10,
) -> Iterator[Served]:
    """Serve both simulators and save a profile `name` from one to the other; on the way out
    cancel the simulators' async jobs so no timer outlives the test."""
    with source.serve() as s, destination.serve() as d:
        profile = ConnectionProfile.objects.create(
            name=name,
            source=saved_instance(source_name, s.url, timeout=timeout),
            destination=saved_instance(destination_name, d.url, timeout=timeout),
        )
        try:
            yield Served(source, destination, profile, s.url)
        finally:
            source.jobs.cancel_all()
            destination.jobs.cancel_all()
