"""DHIS2 Web API client library (pure Python + httpx, no Django).

Entry points: `Client` (HTTP, retries, typed errors, paging), `dhis2.imports` (import answers of
every DHIS2 version), `dhis2.async_jobs` (waiting for async imports), `Version`, UID helpers.
Everything `dhis2.errors` exports is exported here too: the typed errors and the functions that
classify a failure (`error_for_status`, `web_message_text`...), listed once, in `errors.__all__`.
"""

from __future__ import annotations

from . import errors
from .auth import BasicAuth, TokenAuth
from .client import Client, Response, RetryEvent, RetryPolicy
from .errors import *  # noqa: F403 (all of `errors.__all__`, re-exported below)
from .filters import flt, flt_eq, flt_ilike, flt_in, flt_like, flt_ne
from .uids import UID_RE, generate_uid, is_valid_uid, validate_uid
from .version import Version

__all__ = [
    *errors.__all__,
    "UID_RE",
    "BasicAuth",
    "Client",
    "Response",
    "RetryEvent",
    "RetryPolicy",
    "TokenAuth",
    "Version",
    "flt",
    "flt_eq",
    "flt_ilike",
    "flt_in",
    "flt_like",
    "flt_ne",
    "generate_uid",
    "is_valid_uid",
    "validate_uid",
]
