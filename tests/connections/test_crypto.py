from __future__ import annotations

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from connections import crypto
from connections.crypto import CredentialDecryptionError
from connections.models import Instance
from tests.conftest import DEST_TOKEN, SOURCE_PASSWORD


def test_round_trip_and_ciphertext_differs_from_plaintext() -> None:
    token = crypto.encrypt("district")
    assert token != "district"
    assert "district" not in token
    assert crypto.decrypt(token) == "district"


def test_empty_secret_stays_empty() -> None:
    assert crypto.encrypt("") == ""
    assert crypto.decrypt("") == ""


def test_database_holds_ciphertext_only(source_instance: Instance) -> None:
    raw = Instance.objects.filter(pk=source_instance.pk).values_list(
        "password_encrypted", flat=True
    )
    stored = raw.get()
    assert SOURCE_PASSWORD not in stored
    assert crypto.decrypt(stored) == SOURCE_PASSWORD


def test_old_key_still_decrypts_after_new_key_put_first(settings) -> None:
    old = settings.ENCRYPTION_KEYS[0]
    ciphertext = crypto.encrypt("district")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old]
    assert crypto.decrypt(ciphertext) == "district"


def test_unknown_key_gives_actionable_error(settings) -> None:
    ciphertext = crypto.encrypt("district")
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CredentialDecryptionError, match="ENCRYPTION_KEYS"):
        crypto.decrypt(ciphertext)


def test_rotate_command_reencrypts_with_newest_key(
    settings,
    source_instance: Instance,
    destination_instance: Instance,
) -> None:
    old_keys = list(settings.ENCRYPTION_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS = [new_key, *old_keys]
    call_command("rotate_encryption_key", stdout=io.StringIO())
    # With only the new key left, both secrets must still read.
    settings.ENCRYPTION_KEYS = [new_key]
    source_instance.refresh_from_db()
    destination_instance.refresh_from_db()
    assert crypto.decrypt(source_instance.password_encrypted) == SOURCE_PASSWORD
    assert crypto.decrypt(destination_instance.token_encrypted) == DEST_TOKEN


def test_rotate_command_changes_nothing_when_a_secret_is_unreadable(
    settings,
    source_instance: Instance,
    destination_instance: Instance,
) -> None:
    before = Instance.objects.get(pk=destination_instance.pk).token_encrypted
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match=r"National HMIS|Source HMIS"):
        call_command("rotate_encryption_key")
    assert Instance.objects.get(pk=destination_instance.pk).token_encrypted == before
