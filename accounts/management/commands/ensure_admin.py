"""Make sure an admin can log in on a fresh install.

Uses ADMIN_USERNAME / ADMIN_PASSWORD from the environment when set; otherwise generates a password,
prints it once and keeps it in .local/admin-credentials.txt (readable by the owner only).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.roles import ADMIN, sync_roles


class Command(BaseCommand):
    help = "Create the first admin user if no admin exists yet."

    def handle(self, *args, **options) -> None:
        User = get_user_model()
        sync_roles()
        if (
            User.objects.filter(is_superuser=True).exists()
            or User.objects.filter(groups__name=ADMIN).exists()
        ):
            return
        import os

        username = os.environ.get("ADMIN_USERNAME", "admin")
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user = User.objects.create_user(username, is_staff=True, password=password)
        user.groups.add(Group.objects.get(name=ADMIN))
        if "ADMIN_PASSWORD" in os.environ:
            self.stdout.write(f"Created admin user {username!r} with ADMIN_PASSWORD.")
            return
        path = settings.BASE_DIR / ".local" / "admin-credentials.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"username: {username}\npassword: {password}\n")
        path.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(
                f"Created admin user {username!r} with password {password!r} "
                "(also saved in .local/admin-credentials.txt)."
            )
        )
