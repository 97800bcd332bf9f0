"""DHIS2 identifiers (UIDs).

11 characters, a letter first, then letters or digits: the rule of DHIS2's `CodeGenerator`
(same pattern as the OpenAPI `format: uid`). Generating locally avoids a round trip to
`/api/system/id` and yields the same alphabet.
"""

from __future__ import annotations

import re
import secrets
import string

__all__ = ["UID_RE", "generate_uid", "is_valid_uid", "validate_uid"]

UID_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9]{10}$")
_LETTERS = string.ascii_letters
_ALPHANUMERIC = string.digits + string.ascii_letters


def is_valid_uid(s: object) -> bool:
    """True when `s` is a string shaped like a DHIS2 UID."""
    # fullmatch: `$` alone would accept a trailing newline.
    return isinstance(s, str) and UID_RE.fullmatch(s) is not None


def generate_uid() -> str:
    """A new random UID (cryptographic randomness, like DHIS2's CodeGenerator)."""
    return secrets.choice(_LETTERS) + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(10))


def validate_uid(s: object, what: str = "UID") -> str:
    """Return `s` if it is a valid UID, else raise ValueError saying what is wrong with it."""
    if not isinstance(s, str):
        raise ValueError(f"{what} must be text, got {type(s).__name__}.")
    if is_valid_uid(s):
        return s
    shown = s if len(s) <= 40 else s[:40] + "…"
    if len(s) != 11:
        problem = f"it has {len(s)} characters instead of 11"
    elif not s[0].isascii() or not s[0].isalpha():
        problem = "it must start with a letter"
    else:
        problem = "it may contain only letters A-Z, a-z and digits 0-9"
    raise ValueError(f"{what} {shown!r} is not a valid DHIS2 identifier: {problem}.")
