"""Make sure an admin can log in on a fresh install.

Uses ADMIN_USERNAME / ADMIN_PASSWORD from the environment when set; otherwise generates a password,
prints it once and keeps it in .local/admin-credentials.txt (readable by the owner only).
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import ADMIN, sync_roles


class Command(BaseCommand):
    help = "Create the first admin user if no admin exists yet."

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        sync_roles()
        if (
            User.objects.filter(is_superuser=True).exists()
            or User.objects.filter(groups__name=ADMIN).exists()
        ):
            return
        username = os.environ.get("ADMIN_USERNAME", "admin")
        if User.objects.filter(username=username).exists():
            raise CommandError(
                f"A user {username!r} exists but has no Admin role. Give it the role with "
                f"`manage.py create_user {username} --role admin`, or set ADMIN_USERNAME."
            )
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user = User(username=username, is_staff=True)
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("ADMIN_PASSWORD rejected: " + " ".join(exc.messages)) from exc
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=ADMIN))
        if "ADMIN_PASSWORD" in os.environ:
            self.stdout.write(f"Created admin user {username!r} with ADMIN_PASSWORD.")
            return
        path = settings.BASE_DIR / ".local" / "admin-credentials.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"username: {username}\npassword: {password}\n")
        self.stdout.write(
            self.style.SUCCESS(
                f"Created admin user {username!r} with password {password!r} "
                "(also saved in .local/admin-credentials.txt)."
            )
        )
