"""What the audit log stores for a secret field: a fixed marker, never the value.

django-auditlog's default mask keeps the second half of a string, which for our Fernet
ciphertext would still be ciphertext; this one keeps only whether a secret is set.
"""

from __future__ import annotations

SECRET_MARKER = "[secret]"


def mask_secret(value: str) -> str:
    """`[secret]` for any stored secret, "" for none (auditlog passes `None` as "None")."""
    return SECRET_MARKER if value and value != "None" else ""
