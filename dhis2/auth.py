"""Credentials for a DHIS2 instance: HTTP Basic or a personal access token.

Both objects keep their secret out of `repr()`/`str()` so they can sit in dataclasses, log lines
and exception contexts without leaking. `secrets()` lists every string form of the secret (raw,
header value, base64) so the client can scrub any text before it is logged or raised.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["Auth", "BasicAuth", "TokenAuth", "redact", "redact_data"]

REDACTED = "***"


class Auth(Protocol):
    def apply(self, headers: dict[str, str]) -> None: ...

    def secrets(self) -> tuple[str, ...]: ...


@dataclass(frozen=True)
class BasicAuth:
    """HTTP Basic credentials (every DHIS2 version).

    DHIS2 answers 401 instead of redirecting to its login page when the request carries
    `Authorization: Basic` (see `Client`), so bad credentials are detected cleanly.
    """

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.username:
            raise ValueError(
                "The DHIS2 user name is empty; enter the user name of the DHIS2 account."
            )
        if ":" in self.username:
            raise ValueError("A DHIS2 user name cannot contain ':' with HTTP Basic authentication.")

    def header_value(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def apply(self, headers: dict[str, str]) -> None:
        headers["Authorization"] = self.header_value()

    def secrets(self) -> tuple[str, ...]:
        encoded = self.header_value().removeprefix("Basic ")
        return tuple(s for s in (self.password, encoded) if s)

    def __repr__(self) -> str:
        return f"BasicAuth(username={self.username!r}, password={REDACTED!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class TokenAuth:
    """DHIS2 personal access token (2.37+), sent as `Authorization: ApiToken d2pat_...`."""

    token: str = field(repr=False)

    def __post_init__(self) -> None:
        if not self.token or not self.token.strip():
            raise ValueError("The DHIS2 personal access token is empty.")
        if any(c.isspace() for c in self.token):
            raise ValueError(
                "The DHIS2 personal access token contains spaces or line breaks; paste the token "
                "exactly as DHIS2 showed it (it starts with d2pat_)."
            )

    def header_value(self) -> str:
        return f"ApiToken {self.token}"

    def apply(self, headers: dict[str, str]) -> None:
        headers["Authorization"] = self.header_value()

    def secrets(self) -> tuple[str, ...]:
        return (self.token,)

    def __repr__(self) -> str:
        prefix = "d2pat_" if self.token.startswith("d2pat_") else ""
        return f"TokenAuth(token={prefix + REDACTED!r})"

    __str__ = __repr__


def redact(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """Replace every occurrence of each secret in `text` with `***`."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redact_data(data: Any, secrets: tuple[str, ...] | list[str]) -> Any:
    """Copy of a parsed JSON value with every secret inside its strings replaced by `***`."""
    if isinstance(data, str):
        return redact(data, secrets)
    if isinstance(data, dict):
        return {key: redact_data(value, secrets) for key, value in data.items()}
    if isinstance(data, list):
        return [redact_data(value, secrets) for value in data]
    return data
