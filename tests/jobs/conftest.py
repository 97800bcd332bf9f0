"""Shared fixtures for the job and schedule tests: the real transfer a schedule runs (its
DHIS2 servers simulated in process), the nightly schedule on it, and what django-q2 does
when that schedule is due."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from jobs.models import Schedule
from jobs.schedules import run_schedule
from tests.conftest import transfer_schedule
from tests.jobs.handlers import Dhis2, dhis2_fixture  # noqa: F401 (the `dhis2` fixture)
from transfers.models import Transfer


def make_nightly(user: User | None, transfer: Transfer) -> Schedule:
    return transfer_schedule(
        transfer,
        "Nightly HMIS",
        "0 2 * * *",
        "Europe/Berlin",
        user=user,
        notify_emails="ops@example.org",
    )


def make_fire(capture) -> Callable[[Schedule], str]:
    """What django-q2 does when the schedule is due: call the runner (the run executes)."""

    def _fire(schedule: Schedule) -> str:
        with capture(execute=True):
            outcome = run_schedule(schedule.pk)
        schedule.refresh_from_db()
        return outcome

    return _fire


@pytest.fixture
def transfer(dhis2: Dhis2) -> Transfer:
    """The real transfer a schedule runs; its DHIS2 servers are simulated in process."""
    return dhis2.transfer


@pytest.fixture
def nightly(alice: User, transfer: Transfer) -> Schedule:
    return make_nightly(alice, transfer)


@pytest.fixture
def fire(django_capture_on_commit_callbacks) -> Callable[[Schedule], str]:
    return make_fire(django_capture_on_commit_callbacks)
