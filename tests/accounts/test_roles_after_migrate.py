"""The role groups exist, with exactly their permissions, after a plain `manage.py migrate`.

Nothing here creates a group: `migrate` runs in a subprocess on a fresh SQLite file, as a
deployment runs it, and the result is read back with plain SQL. The expected permissions are
derived in SQL from the rule the roles document (operators view every project model and may
launch, cancel, run a schedule now and test a connection; admins get every project permission,
manage users and may only view groups and the task queue), not from `accounts.roles`.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PROJECT_APPS = ("connections", "jobs", "transfers", "metadata_sync", "completeness", "tracker")
OPERATOR_EXTRA = {
    "jobs.launch_run",
    "jobs.cancel_run",
    "jobs.run_schedule",
    "connections.test_instance",
    "metadata_sync.review_assessment",  # operators accept or reject suggestions
}
ADMIN_USERS = {"auth.add_user", "auth.change_user", "auth.delete_user", "auth.view_user"}

pytestmark = pytest.mark.slow


def migrate(database: Path) -> None:
    """`manage.py migrate` with production settings on `database`, as a deployment runs it."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "false",
        "SECRET_KEY": "migrate-test-" + "x" * 50,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr


def all_permissions(db: sqlite3.Connection) -> set[str]:
    rows = db.execute(
        "SELECT ct.app_label || '.' || p.codename FROM auth_permission p "
        "JOIN django_content_type ct ON ct.id = p.content_type_id"
    )
    return {name for (name,) in rows}


def group_permissions(db: sqlite3.Connection) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {
        name: set() for (name,) in db.execute("SELECT name FROM auth_group")
    }
    rows = db.execute(
        "SELECT g.name, ct.app_label || '.' || p.codename FROM auth_group g "
        "JOIN auth_group_permissions gp ON gp.group_id = g.id "
        "JOIN auth_permission p ON p.id = gp.permission_id "
        "JOIN django_content_type ct ON ct.id = p.content_type_id"
    )
    for group, permission in rows:
        groups[group].add(permission)
    return groups


def expected_roles(every: set[str]) -> dict[str, set[str]]:
    def app(name: str) -> str:
        return name.split(".", 1)[0]

    def is_view(name: str) -> bool:
        return name.split(".", 1)[1].startswith("view_")

    project = {p for p in every if app(p) in PROJECT_APPS}
    return {
        "Operator": {p for p in project if is_view(p)} | OPERATOR_EXTRA,
        "Admin": project
        | ADMIN_USERS
        # Unlocking a login that django-axes locked out; reading the audit log and attempts.
        | {"axes.delete_accessattempt"}
        | {p for p in every if app(p) in ("auth", "django_q", "auditlog", "axes") and is_view(p)},
    }


def test_migrate_alone_creates_both_roles_and_keeps_them_exact(tmp_path: Path) -> None:
    database = tmp_path / "fresh.sqlite3"
    migrate(database)
    with sqlite3.connect(database) as db:
        every = all_permissions(db)
        # The rule only means something if the permissions it names exist.
        assert {"jobs.launch_run", "transfers.add_transfer", "auth.view_group"} <= every
        assert every >= OPERATOR_EXTRA | ADMIN_USERS
        assert group_permissions(db) == expected_roles(every)

        # Groups drift (an edit by hand, a permission a later migration adds): the next
        # migrate puts them back to exactly the rule.
        operator = db.execute("SELECT id FROM auth_group WHERE name = 'Operator'").fetchone()[0]
        launch = db.execute(
            "SELECT p.id FROM auth_permission p JOIN django_content_type ct "
            "ON ct.id = p.content_type_id WHERE ct.app_label = 'jobs' AND codename = 'launch_run'"
        ).fetchone()[0]
        delete_group = db.execute(
            "SELECT id FROM auth_permission WHERE codename = 'delete_group'"
        ).fetchone()[0]
        db.execute("DELETE FROM auth_group_permissions WHERE group_id = ? AND permission_id = ?",
                   (operator, launch))  # fmt: skip
        db.execute(
            "INSERT INTO auth_group_permissions (group_id, permission_id) VALUES (?, ?)",
            (operator, delete_group),
        )
        db.execute("DELETE FROM auth_group WHERE name = 'Admin'")
    with sqlite3.connect(database) as db:
        drifted = group_permissions(db)
    assert "jobs.launch_run" not in drifted["Operator"] and "Admin" not in drifted

    migrate(database)
    with sqlite3.connect(database) as db:
        assert group_permissions(db) == expected_roles(all_permissions(db))
