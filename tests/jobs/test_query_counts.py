"""The runs page, the admin changelist and ``GET /api/v1/runs/`` cost a bounded number of SQL
queries, however many runs there are (issue 14: the bench measures them with 100,000 runs).

Each face is read with a handful of runs and with more than a page of them, every run started
by its own user and some by a schedule, so a missing ``select_related`` (one query per row)
would make the second count larger than the first. The bound is what a page needs (session,
user, permissions, count, the page) with some room, not a measured figure.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import Run, Schedule
from tests.conftest import api_as, page_as


def _add_runs(count: int) -> None:
    """`count` more runs, each started by a different user, every third by a schedule."""
    start = Run.objects.count()
    users = User.objects.bulk_create(User(username=f"runner-{start + i}") for i in range(count))
    schedule = Schedule.objects.create(
        name=f"Nightly {start}", job_type="connection_check", job_id=1, cron="0 2 * * *"
    )
    Run.objects.bulk_create(
        Run(
            kind="connection_check",
            title=f"Check {start + i}",
            trigger="schedule" if i % 3 == 0 else "web",
            status=("succeeded", "failed", "running")[i % 3],
            started_by=users[i],
            schedule=schedule if i % 3 == 0 else None,
        )
        for i in range(count)
    )


def _queries(read: Callable[[], int]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert read() == 200
    return len(ctx.captured_queries)


def _face(face: str, user: User) -> Callable[[], int]:
    """A reader of `face` with its session opened (login queries are not the page's)."""
    if face == "api":
        api = api_as(user)
        return lambda: api.get("/api/v1/runs/").status_code
    browser = page_as(user)
    url = {"runs page": "/runs/", "admin changelist": "/admin/jobs/run/"}[face]
    return lambda: browser.get(url).status_code


FACES = ("admin changelist", "api", "runs page")
MAX_QUERIES = 12  # session, user, a count or two, the page, the admin's filters: with room


@pytest.mark.parametrize("face", FACES)
def test_query_count_does_not_grow_with_runs(alice: User, face: str) -> None:
    alice.is_superuser = True  # the admin changelist without depending on the role matrix
    alice.save()
    read = _face(face, alice)
    _add_runs(3)
    few = _queries(read)
    _add_runs(120)  # more than a page (50) of the pages and the API, and of the admin (100)
    many = _queries(read)
    assert Run.objects.count() == 123
    assert many == few, f"{face}: {few} queries with 3 runs, {many} with 123"
    assert many <= MAX_QUERIES, f"{face}: {many} queries"
