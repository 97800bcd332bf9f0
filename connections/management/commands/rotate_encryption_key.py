"""Re-encrypt every stored secret with the first key of ENCRYPTION_KEYS.

Procedure: put the new key first in ENCRYPTION_KEYS (keep the old ones after it), restart, run
this command, then remove the old keys.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from connections.crypto import CredentialDecryptionError, rotate
from connections.models import Instance


class Command(BaseCommand):
    help = "Re-encrypt all stored DHIS2 credentials with the newest (first) encryption key."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated, failed = 0, []
        with transaction.atomic():
            for instance in Instance.objects.select_for_update().order_by("pk"):
                try:
                    instance.password_encrypted = rotate(instance.password_encrypted)
                    instance.token_encrypted = rotate(instance.token_encrypted)
                except CredentialDecryptionError:
                    failed.append(instance.name)
                    continue
                instance.save(update_fields=["password_encrypted", "token_encrypted"])
                rotated += 1
            if failed:
                transaction.set_rollback(True)
        if failed:
            raise CommandError(
                f"Nothing was changed: the credentials of {', '.join(failed)} cannot be decrypted "
                "with any key in ENCRYPTION_KEYS. Add the key they were encrypted with and retry."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted the credentials of {rotated} instances.")
        )
