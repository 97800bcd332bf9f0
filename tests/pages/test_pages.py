"""Pages and admin: login required, role checks by permission, secrets never rendered."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from connections.models import Instance
from jobs.models import Run, RunLogEntry
from tests.conftest import DEST_TOKEN, SOURCE_PASSWORD


def browser(user: User | None = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["/", "/runs/", "/connections/", "/transfers/", "/runs/1/"])
def test_every_page_needs_login(db, url: str) -> None:
    resp = browser().get(url)
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
    client = browser(bob)
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
    data = browser(bob).get(f"/runs/{run.pk}/poll/?after={first.pk}").json()
    assert data["progress"] == 40 and data["active"] is True
    assert [e["message"] for e in data["log"]] == ["two"]


def test_operator_cancels_from_the_page_charlie_cannot(bob: User, charlie: User) -> None:
    run = Run.objects.create(kind="connection_check", trigger="web", status="running")
    assert browser(charlie).post(f"/runs/{run.pk}/cancel/").status_code == 403
    run.refresh_from_db()
    assert not run.cancel_requested
    assert browser(bob).post(f"/runs/{run.pk}/cancel/").status_code == 302
    run.refresh_from_db()
    assert run.cancel_requested


def test_charlie_without_role_sees_no_runs(charlie: User) -> None:
    assert browser(charlie).get("/runs/").status_code == 403
    assert browser(charlie).get("/connections/").status_code == 403


def test_admin_instance_pages_never_render_secrets(
    alice: User, bob: User, source_instance: Instance, destination_instance: Instance
) -> None:
    secrets = [
        SOURCE_PASSWORD,
        DEST_TOKEN,
        source_instance.password_encrypted,
        destination_instance.token_encrypted,
    ]
    for user in (alice, bob):
        client = browser(user)
        for url in (
            "/admin/connections/instance/",
            f"/admin/connections/instance/{source_instance.pk}/change/",
            f"/admin/connections/instance/{destination_instance.pk}/change/",
            "/connections/",
        ):
            resp = client.get(url)
            assert resp.status_code == 200, (user, url)
            for secret in secrets:
                assert secret not in resp.content.decode(), (user, url)


def test_operator_cannot_add_or_change_instances_in_admin(
    bob: User, source_instance: Instance
) -> None:
    client = browser(bob)
    assert client.get("/admin/connections/instance/add/").status_code == 403
    page = client.get(f"/admin/connections/instance/{source_instance.pk}/change/").content.decode()
    assert 'name="password"' not in page and 'name="token"' not in page
    resp = client.post(
        f"/admin/connections/instance/{source_instance.pk}/change/",
        {"name": "Hijacked", "base_url": "https://evil.example.org", "auth_type": "basic"},
    )
    assert resp.status_code == 403
    source_instance.refresh_from_db()
    assert source_instance.name == "Source HMIS"


def test_admin_creates_instance_with_write_only_password(alice: User) -> None:
    client = browser(alice)
    resp = client.post(
        "/admin/connections/instance/add/",
        {
            "name": "District",
            "base_url": "https://district.example.org",
            "auth_type": "basic",
            "username": "admin",
            "password": "Pa55-word",
            "token": "",
            "timeout_seconds": 60,
            "verify_tls": "on",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    instance = Instance.objects.get(name="District")
    assert instance.has_password and "Pa55-word" not in instance.password_encrypted
    change = client.get(f"/admin/connections/instance/{instance.pk}/change/").content.decode()
    assert "Pa55-word" not in change and 'name="password"' in change


def test_admin_rejects_basic_instance_without_password(alice: User) -> None:
    resp = browser(alice).post(
        "/admin/connections/instance/add/",
        {"name": "X", "base_url": "https://x.example.org", "auth_type": "basic", "username": "a",
         "timeout_seconds": 60},
    )  # fmt: skip
    assert resp.status_code == 200
    assert "A password is needed" in resp.content.decode()
    assert not Instance.objects.filter(name="X").exists()
