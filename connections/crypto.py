"""Encryption of stored DHIS2 credentials with MultiFernet.

`ENCRYPTION_KEYS` lists Fernet keys: the first encrypts, every key decrypts, so a new key can be
put in front and old secrets still read until `rotate_encryption_key` re-encrypts them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialDecryptionError(Exception):
    """A stored secret cannot be read with the configured keys (the key it used was removed)."""


@lru_cache(maxsize=4)
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("ENCRYPTION_KEYS is empty; stored credentials cannot be used.")
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes). "
            "Generate one with: python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def _fernet() -> MultiFernet:
    return _multifernet(tuple(settings.ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    """Encrypt with the first configured key; empty stays empty (no secret stored)."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode()


def _open_stored(
    ciphertext: str, use: Callable[[MultiFernet, bytes], bytes], unreadable: str
) -> str:
    """`use` the configured keys on a stored token (decrypt or rotate it): empty stays empty,
    and a token that no key opens raises `CredentialDecryptionError(unreadable)`."""
    if not ciphertext:
        return ""
    try:
        return use(_fernet(), ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise CredentialDecryptionError(unreadable) from exc


def decrypt(ciphertext: str) -> str:
    return _open_stored(
        ciphertext,
        MultiFernet.decrypt,
        "The stored credential cannot be decrypted with the configured ENCRYPTION_KEYS. "
        "Put the key it was encrypted with back into ENCRYPTION_KEYS (after the current "
        "one), or re-enter the password or token.",
    )


def rotate(ciphertext: str) -> str:
    """Re-encrypt with the first key (MultiFernet.rotate keeps the original timestamp)."""
    return _open_stored(
        ciphertext,
        MultiFernet.rotate,
        "A stored credential cannot be decrypted with any configured key.",
    )
