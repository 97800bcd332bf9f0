"""Authentication as DHIS2 does it (reference §0 and §9).

* Basic auth and, from 2.37, personal access tokens (``Authorization: ApiToken d2pat_...``).
* Unauthenticated requests get the 401 WebMessage when they carried ``Authorization: Basic`` or
  ``X-Requested-With: XMLHttpRequest``; otherwise a 302 to the login page
  (``core@2.40.0:.../webapi/security/FormLoginBasicAuthenticationEntryPoint.java``).
* Authorities: ``ALL`` is the superuser. Endpoints that DHIS2 guards with ``@PreAuthorize`` use the
  real authority names (``F_METADATA_IMPORT``, ``F_METADATA_EXPORT``); a user lacking it gets
  the 403 WebMessage.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from simulator.http import SimRequest, SimResponse, error_response, json_response, web_message

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "district"
DEFAULT_TOKEN = "d2pat_5xVA12xyUbWNedQxy4ohH77WlxRGVvZZ1151814092"
LOGIN_PATH = "/dhis-web-commons/security/login.action"
FORBIDDEN_READ = "You don't have the proper permissions to read objects of this type."
ACCESS_DENIED = "Access is denied"


@dataclass
class User:
    username: str
    password: str
    authorities: list[str] = field(default_factory=lambda: ["ALL"])
    organisation_units: list[str] = field(default_factory=list)
    uid: str = ""
    name: str = ""
    tokens: list[str] = field(default_factory=list)
    metadata_read: bool = True

    def has(self, authority: str) -> bool:
        return "ALL" in self.authorities or authority in self.authorities


def build_users(spec: dict[str, dict[str, Any]] | None, root_ous: list[str]) -> dict[str, User]:
    users = {
        DEFAULT_USERNAME: User(
            DEFAULT_USERNAME,
            DEFAULT_PASSWORD,
            ["ALL"],
            list(root_ous),
            uid="M5zQapPyTZI",
            name="John Traore",
            tokens=[DEFAULT_TOKEN],
        )
    }
    for username, conf in (spec or {}).items():
        users[username] = User(
            username=username,
            password=conf.get("password", ""),
            authorities=list(conf.get("authorities", [])),
            organisation_units=list(conf.get("organisationUnits", root_ous)),
            uid=conf.get("id", "U" + (username + "0000000000")[:10].replace("_", "x")),
            name=conf.get("name", username),
            tokens=list(conf.get("tokens", [])),
            metadata_read=conf.get("metadata_read", True),
        )
    return users


def authenticate(
    request: SimRequest, users: dict[str, User], tokens_supported: bool
) -> User | SimResponse:
    """Return the authenticated user, or the response DHIS2 gives an unauthenticated request."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            decoded = ""
        username, _, password = decoded.partition(":")
        user = users.get(username)
        if user is not None and user.password == password:
            return user
        return unauthorized()
    if scheme == "apitoken" and tokens_supported:
        token = credentials.strip()
        for user in users.values():
            if token in user.tokens:
                return user
        return unauthorized()
    if request.headers.get("x-requested-with", "").lower() == "xmlhttprequest":
        return unauthorized()
    return redirect_to_login(request)


def unauthorized() -> SimResponse:
    return json_response(
        web_message(401, "ERROR", "Unauthorized"),
        status=401,
        headers={"WWW-Authenticate": 'Basic realm="DHIS2"'},
    )


def redirect_to_login(request: SimRequest) -> SimResponse:
    return SimResponse(status=302, headers={"Location": f"{request.base_url}{LOGIN_PATH}"})


def forbidden(message: str = ACCESS_DENIED) -> SimResponse:
    return error_response(403, message)
