"""Create or update a team member with a role: `manage.py create_user alice --role operator`."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.roles import ADMIN, OPERATOR, sync_roles


class Command(BaseCommand):
    help = "Create (or update) a user with the Admin or Operator role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=["admin", "operator"], required=True)
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password",
            help="Password (prompted for when omitted; use the prompt to keep it out of history).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        User = get_user_model()
        password = opts["password"]
        if password is None:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords do not match.")
        user, created = User.objects.get_or_create(username=opts["username"])
        try:
            validate_password(password, user)
        except ValidationError as exc:
            if created:
                user.delete()
            raise CommandError("Password rejected: " + " ".join(exc.messages)) from exc
        user.email = opts["email"] or user.email
        user.set_password(password)
        user.is_staff = True  # both roles use the admin site; permissions decide what they see
        user.is_superuser = False
        user.save()
        sync_roles()
        role = ADMIN if opts["role"] == "admin" else OPERATOR
        user.groups.set([Group.objects.get(name=role)])
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} user {user.username} with role {role}."))
