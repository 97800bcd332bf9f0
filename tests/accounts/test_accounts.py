"""Roles, the user commands, and the settings' refusal to start without real keys."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.roles import ADMIN, OPERATOR, role_permissions, sync_roles

ROOT = Path(__file__).resolve().parents[2]


def codenames(role: str) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in role_permissions(role)}


def test_roles_are_synced_idempotently(db) -> None:
    sync_roles()
    sync_roles()
    assert Group.objects.filter(name__in=[ADMIN, OPERATOR]).count() == 2
    assert set(Group.objects.get(name=OPERATOR).permissions.all()) == set(
        role_permissions(OPERATOR)
    )


def test_operator_views_and_launches_but_changes_nothing(db) -> None:
    perms = codenames(OPERATOR)
    assert {"jobs.launch_run", "jobs.cancel_run", "connections.test_instance"} <= perms
    assert {"connections.view_instance", "transfers.view_transfer", "jobs.view_schedule"} <= perms
    changes = {p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))}
    assert changes == set()


def test_admin_manages_everything_but_never_sees_tokens_or_adds_queue_tasks(db) -> None:
    perms = codenames(ADMIN)
    assert {"connections.change_instance", "transfers.add_transfer", "auth.change_user"} <= perms
    assert not {p for p in perms if p.startswith("authtoken.")}
    assert "django_q.view_schedule" in perms and "django_q.add_schedule" not in perms


def test_create_user_gives_the_role(db) -> None:
    call_command("create_user", "dora", "--role", "operator", "--password", "Long-enough-pass-42")
    dora = User.objects.get(username="dora")
    assert dora.is_staff and not dora.is_superuser
    assert dora.has_perm("jobs.launch_run") and not dora.has_perm("connections.change_instance")
    assert Client().login(username="dora", password="Long-enough-pass-42")


def test_create_user_refuses_a_weak_password(db) -> None:
    with pytest.raises(CommandError, match="Password rejected"):
        call_command("create_user", "erin", "--role", "admin", "--password", "123")
    assert not User.objects.filter(username="erin").exists()


def test_ensure_admin_creates_once(db, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "Another-long-pass-7")
    call_command("ensure_admin")
    call_command("ensure_admin")  # an admin exists: nothing happens
    admin = User.objects.get(username="admin")
    assert admin.groups.filter(name=ADMIN).exists()
    assert User.objects.count() == 1


def test_ensure_admin_explains_a_name_clash(db, monkeypatch: pytest.MonkeyPatch) -> None:
    User.objects.create_user("admin", password="x")
    monkeypatch.setenv("ADMIN_PASSWORD", "Another-long-pass-7")
    with pytest.raises(CommandError, match="create_user admin --role admin"):
        call_command("ensure_admin")


def _settings_in_subprocess(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ENCRYPTION_KEYS", "DEBUG")
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_keys_and_says_how() -> None:
    result = _settings_in_subprocess(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY and ENCRYPTION_KEYS must be set" in result.stderr
    assert "Fernet.generate_key" in result.stderr


def test_a_malformed_encryption_key_is_refused_at_start() -> None:
    result = _settings_in_subprocess(DEBUG="false", SECRET_KEY="x" * 50, ENCRYPTION_KEYS="notakey")
    assert result.returncode != 0
    assert "ENCRYPTION_KEYS entry 1 is not a Fernet key" in result.stderr


def test_charlie_without_a_role_sees_nothing_on_the_dashboard(
    charlie: User, source_instance
) -> None:
    client = Client()
    client.force_login(charlie)
    page = client.get("/").content.decode()
    assert "no role yet" in page
    assert source_instance.base_url not in page and "Source HMIS" not in page


def test_team_admin_cannot_make_superusers(alice: User, bob: User) -> None:
    client = Client()
    client.force_login(alice)
    page = client.get(f"/admin/auth/user/{bob.pk}/change/").content.decode()
    assert 'name="is_superuser"' not in page and 'name="groups"' in page
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 403


def test_team_admin_cannot_grant_permissions_or_take_over_a_superuser(alice: User) -> None:
    root = User.objects.create_superuser("root", "root@example.org", "Root-pass-12345")
    admin_group = Group.objects.get(name=ADMIN)
    client = Client()
    client.force_login(alice)
    assert client.get(f"/admin/auth/group/{admin_group.pk}/change/").status_code == 200  # may look
    resp = client.post(
        f"/admin/auth/group/{admin_group.pk}/change/", {"name": ADMIN, "permissions": []}
    )
    assert resp.status_code == 403
    assert admin_group.permissions.exists()
    resp = client.post(
        f"/admin/auth/user/{root.pk}/password/",
        {"password1": "Hijacked-pass-9876", "password2": "Hijacked-pass-9876"},
    )
    assert resp.status_code == 403
    root.refresh_from_db()
    assert not root.check_password("Hijacked-pass-9876")
    assert client.post(f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"}).status_code == 403
