"""The run pages and the dashboard: login required, role checks by permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.models import Instance
from jobs.models import Run, RunLogEntry
from tests.conftest import page_as


@pytest.mark.parametrize("url", ["/", "/runs/", "/connections/", "/transfers/", "/runs/1/"])
def test_every_page_needs_login(db, url: str) -> None:
    resp = page_as().get(url)
    assert resp.status_code == 302
    assert resp["Location"].startswith("/login/")


def test_login_page_logs_in(bob: User) -> None:
    from tests.conftest import PASSWORD

    client = Client()
    assert client.get("/login/").status_code == 200
    resp = client.post("/login/", {"username": "bob", "password": PASSWORD})
    assert resp.status_code == 302 and resp["Location"] == "/"
    assert client.get("/").status_code == 200


def test_dashboard_and_runs_for_operator(bob: User, source_instance: Instance) -> None:
    run = Run.objects.create(
        kind="connection_check", title="Check all", trigger="web", status="running"
    )
    RunLogEntry.objects.create(run=run, message="checking Source HMIS")
    client = page_as(bob)
    page = client.get("/").content.decode()
    assert "Source HMIS" in page and "Check all" in page
    assert "Check all" in client.get("/runs/?status=running").content.decode()
    assert "Check all" not in client.get("/runs/?status=failed").content.decode()
    detail = client.get(f"/runs/{run.pk}/").content.decode()
    assert "checking Source HMIS" in detail and "Cancel run" in detail


def test_run_poll_returns_only_new_log_lines(bob: User) -> None:
    run = Run.objects.create(kind="connection_check", trigger="web", status="running", progress=40)
    first = RunLogEntry.objects.create(run=run, message="one")
    RunLogEntry.objects.create(run=run, message="two")
    data = page_as(bob).get(f"/runs/{run.pk}/poll/?after={first.pk}").json()
    assert data["progress"] == 40 and data["active"] is True
    assert [e["message"] for e in data["log"]] == ["two"]


def test_operator_cancels_from_the_page_charlie_cannot(bob: User, charlie: User) -> None:
    run = Run.objects.create(kind="connection_check", trigger="web", status="running")
    assert page_as(charlie).post(f"/runs/{run.pk}/cancel/").status_code == 403
    run.refresh_from_db()
    assert not run.cancel_requested
    assert page_as(bob).post(f"/runs/{run.pk}/cancel/").status_code == 302
    run.refresh_from_db()
    assert run.cancel_requested


def test_charlie_without_role_sees_no_runs(charlie: User) -> None:
    assert page_as(charlie).get("/runs/").status_code == 403
    assert page_as(charlie).get("/connections/").status_code == 403
