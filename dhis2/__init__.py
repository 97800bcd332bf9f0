"""DHIS2 Web API client library (pure Python + httpx, no Django).

Entry points: `Client` (HTTP, retries, typed errors, paging), `dhis2.imports` (import answers of
every DHIS2 version), `dhis2.async_jobs` (waiting for async imports), `Version`, UID helpers.
"""

from __future__ import annotations

from .auth import BasicAuth, TokenAuth
from .client import Client, Response, RetryEvent, RetryPolicy
from .errors import (
    AuthenticationFailed,
    BadRequest,
    Conflict,
    Dhis2Error,
    Dhis2Timeout,
    JobFailed,
    NotDhis2,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    ServerError,
    TlsError,
    UnexpectedResponse,
    Unreachable,
)
from .filters import flt, flt_eq, flt_ilike, flt_in, flt_like, flt_ne
from .uids import UID_RE, generate_uid, is_valid_uid, validate_uid
from .version import Version

__all__ = [
    "UID_RE",
    "AuthenticationFailed",
    "BadRequest",
    "BasicAuth",
    "Client",
    "Conflict",
    "Dhis2Error",
    "Dhis2Timeout",
    "JobFailed",
    "NotDhis2",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "Response",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "TlsError",
    "TokenAuth",
    "UnexpectedResponse",
    "Unreachable",
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
