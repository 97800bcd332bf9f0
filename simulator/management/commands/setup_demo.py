"""Point the platform at the two demo simulators: instances and a connection profile.

Idempotent: run it as often as you like; it updates the demo objects in place.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from connections.models import ConnectionProfile, Instance

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "district"  # the simulator's built-in demo user, like DHIS2's demo databases


class Command(BaseCommand):
    help = "Create or update the demo DHIS2 instances and profile for the local simulators."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--source-port", type=int, default=8081)
        parser.add_argument("--destination-port", type=int, default=8082)

    def handle(self, *args, **opts) -> None:
        instances = {}
        for key, name, port in (
            ("source", "Demo source (simulated)", opts["source_port"]),
            ("destination", "Demo destination (simulated)", opts["destination_port"]),
        ):
            instance = Instance.objects.filter(name=name).first() or Instance(name=name)
            instance.base_url = f"http://127.0.0.1:{port}"
            instance.auth_type = Instance.AuthType.BASIC
            instance.username = DEMO_USERNAME
            instance.set_password(DEMO_PASSWORD)
            instance.timeout_seconds = 30
            instance.save()
            instances[key] = instance
        ConnectionProfile.objects.update_or_create(
            name="Demo: source to destination",
            defaults={
                "source": instances["source"],
                "destination": instances["destination"],
                "description": "Two simulated DHIS2 instances started by `make run` for the demo.",
            },
        )
        self.stdout.write(self.style.SUCCESS("Demo instances and profile are ready."))
