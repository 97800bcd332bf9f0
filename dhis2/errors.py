"""Typed DHIS2 errors whose messages tell a health-data manager what to check.

Every error carries `status_code` (None for network failures), `url` (never with credentials),
`web_message` (the parsed DHIS2 WebMessage when the server sent one), `retryable` and
`attempts` (how many times the request was sent).
The factories `error_for_status` and `error_for_transport` turn HTTP answers and httpx exceptions
into these classes; the client is the only caller that needs them.
"""

from __future__ import annotations

import errno
import re
import ssl
from typing import Any, ClassVar, TypedDict

import httpx

from .urls import strip_userinfo

__all__ = [
    "AuthenticationFailed",
    "BadRequest",
    "Conflict",
    "Dhis2Error",
    "Dhis2Timeout",
    "JobFailed",
    "NotDhis2",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TlsError",
    "UnexpectedResponse",
    "Unreachable",
    "describe_transport_error",
    "error_for_status",
    "error_for_transport",
    "exception_chain",
    "is_login_redirect",
    "web_message_text",
]

BASE_URL_HINT = "check the base URL (include the context path like /dhis)"
_MAX_DETAIL = 300


class Dhis2Error(Exception):
    """Base class of every error raised by the DHIS2 client."""

    default_retryable: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        url: str = "",
        status_code: int | None = None,
        web_message: dict[str, Any] | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.url = strip_userinfo(url or "")
        self.status_code = status_code
        self.web_message = web_message
        self.retryable = self.default_retryable if retryable is None else retryable
        self.attempts = 1
        """How many times the client sent the request before giving up (set by the client)."""

    @property
    def error_code(self) -> str | None:
        """DHIS2 `errorCode` (E1005, E2012, ...) when the WebMessage has one (mostly 2.38+)."""
        if isinstance(self.web_message, dict):
            code = self.web_message.get("errorCode")
            return code if isinstance(code, str) else None
        return None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code!r}, url={self.url!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only __init__ breaks the default exception pickling (task queues pickle errors).
        state = {
            "url": self.url,
            "status_code": self.status_code,
            "web_message": self.web_message,
            "retryable": self.retryable,
        }
        return (_rebuild_error, (type(self), self.message, state), self.__dict__)


def _rebuild_error(cls: type[Dhis2Error], message: str, state: dict[str, Any]) -> Dhis2Error:
    return cls(message, **state)


class Unreachable(Dhis2Error):
    """DNS failure, connection refused or reset, server hung up: nothing usable came back."""

    default_retryable = True


class TlsError(Dhis2Error):
    """The TLS handshake or certificate verification failed. Not retried: it will not heal."""


class Dhis2Timeout(Dhis2Error):
    """No answer in time (connect, read, or a polled job that did not finish)."""

    default_retryable = True


class AuthenticationFailed(Dhis2Error):
    """401, or a redirect to DHIS2's login page (what DHIS2 does for unauthenticated browsers)."""


class PermissionDenied(Dhis2Error):
    """403: the user lacks an authority or sharing access."""


class NotFound(Dhis2Error):
    """404: unknown object or endpoint."""


class Conflict(Dhis2Error):
    """409: DHIS2 refused the request; the WebMessage says why (message + errorCode)."""


class ServerError(Dhis2Error):
    """5xx. 502/503/504 are retryable (proxy or overload); 500/501 are not (deterministic)."""


class RateLimited(Dhis2Error):
    """429 after the retries ran out."""

    default_retryable = True


class BadRequest(Dhis2Error):
    """Any other 4xx (400, 405, 406, 415, ...)."""


class PayloadTooLarge(BadRequest):
    """413: the body was too big for DHIS2 or its reverse proxy; send smaller batches."""


class NotDhis2(Dhis2Error):
    """The server answered, but not like a DHIS2 Web API (HTML page, invalid JSON, no version)."""


class UnexpectedResponse(Dhis2Error, ValueError):
    """Valid JSON from DHIS2, but not the shape this call expects (e.g. not an import summary)."""


class JobFailed(Dhis2Error):
    """An asynchronous DHIS2 job ended with an ERROR notification.

    `summary` holds the job's summary/report body when DHIS2 still provided one.
    """

    def __init__(self, message: str, *, summary: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.summary = summary


# --------------------------------------------------------------------------------------------
# Message helpers
# --------------------------------------------------------------------------------------------


def web_message_text(body: Any) -> str | None:
    """`message [errorCode]` of a DHIS2 WebMessage, plus the first import conflict if any."""
    if not isinstance(body, dict):
        return None
    parts: list[str] = []
    message = body.get("message")
    if isinstance(message, str) and message.strip():
        parts.append(message.strip())
    code = body.get("errorCode")
    if isinstance(code, str) and code:
        parts.append(f"(error code {code})")
    response = body.get("response")
    if isinstance(response, dict):
        description = response.get("description")
        conflicts = response.get("conflicts")
        if isinstance(conflicts, list) and conflicts and isinstance(conflicts[0], dict):
            first = conflicts[0]
            what = first.get("value") or first.get("object")
            extra = f" and {len(conflicts) - 1} more" if len(conflicts) > 1 else ""
            parts.append(f"First conflict: {what}{extra}.")
        elif isinstance(description, str) and description and not parts:
            parts.append(description)
    dev = body.get("devMessage")
    if not parts and isinstance(dev, str) and dev.strip():
        parts.append(dev.strip())
    return " ".join(parts) if parts else None


_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _body_detail(body: Any, text: str) -> str | None:
    """Short human detail for an error answer: WebMessage text, HTML title, or plain text start."""
    detail = web_message_text(body)
    if detail:
        return detail
    if not text:
        return None
    title = _TITLE_RE.search(text)
    if title:
        return "the server sent an HTML page titled " + repr(" ".join(title.group(1).split()))
    if "<html" in text[:500].lower():
        return "the server sent an HTML page"
    snippet = " ".join(text.split())
    return snippet[:_MAX_DETAIL] + ("…" if len(snippet) > _MAX_DETAIL else "")


def _short(url: str) -> str:
    url = strip_userinfo(url)
    return url if len(url) <= 200 else url[:200] + "…"


def _join(*parts: str | None) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


def _sentence(detail: str | None) -> str | None:
    if not detail:
        return None
    return detail if detail.endswith((".", "!", "?", "…")) else detail + "."


LOGIN_MARKERS = ("dhis-web-commons/security/login.action", "dhis-web-login", "login.action")


def is_login_redirect(location: str | None) -> bool:
    """True when a redirect target is DHIS2's login page.

    ≤2.40 uses `dhis-web-commons/security/login.action`; newer servers (login app) use `/login`
    or `dhis-web-login`. DHIS2 redirects there instead of answering 401 when the request did not
    look like an API call.
    """
    if not location:
        return False
    lowered = location.lower()
    if any(marker in lowered for marker in LOGIN_MARKERS):
        return True
    path = lowered.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return path.endswith("/login") or path == "login"


# --------------------------------------------------------------------------------------------
# Factories
# --------------------------------------------------------------------------------------------


class _ErrorFields(TypedDict, total=False):
    """The keyword arguments every `Dhis2Error` takes besides its message."""

    url: str
    status_code: int | None
    web_message: dict[str, Any] | None
    retryable: bool | None


def error_for_status(
    status: int,
    *,
    method: str,
    url: str,
    body: Any = None,
    text: str = "",
    location: str | None = None,
    retryable: bool | None = None,
) -> Dhis2Error:
    """Map an HTTP status (and the parsed body, if JSON) to a typed error with advice."""
    web_message = body if isinstance(body, dict) else None
    detail = _body_detail(body, text)
    where = f"{method} {_short(url)}"
    reason = httpx.codes.get_reason_phrase(status) or "Unknown status"
    common: _ErrorFields = {"url": url, "status_code": status, "web_message": web_message}
    if retryable is not None:
        common["retryable"] = retryable

    if 300 <= status < 400:
        target = _short(location or "")
        if is_login_redirect(location):
            return AuthenticationFailed(
                _join(
                    f"DHIS2 sent the request {where} to its login page ({target}) instead of "
                    "answering: it did not accept the credentials.",
                    "Check the user name and password or the personal access token.",
                ),
                **common,
            )
        return NotDhis2(
            _join(
                f"The server redirected {where} to {target or 'another address'}.",
                "The base URL is probably not the DHIS2 address itself (for example http instead "
                f"of https, or a missing context path); {BASE_URL_HINT}.",
            ),
            **common,
        )
    if status == 401:
        return AuthenticationFailed(
            _join(
                f"DHIS2 rejected the credentials (HTTP 401) for {where}.",
                _sentence(detail),
                "Check the user name and password or the personal access token, and that the "
                "account is not disabled, locked or expired.",
            ),
            **common,
        )
    if status == 403:
        return PermissionDenied(
            _join(
                f"DHIS2 refused access (HTTP 403, missing authority) for {where}.",
                _sentence(detail),
                "Check that this DHIS2 user has the needed authorities and sharing (for example "
                "to read this metadata, or to write data for these data sets and org units).",
            ),
            **common,
        )
    if status == 404:
        return NotFound(
            _join(
                f"DHIS2 does not know {where} (HTTP 404).",
                _sentence(detail),
                "Check that the object exists on this instance and that the base URL is right "
                "(include the context path like /dhis).",
            ),
            **common,
        )
    if status == 409:
        return Conflict(
            _join(
                f"DHIS2 refused the request (HTTP 409 Conflict) {where}.",
                _sentence(detail),
                "Check the identifiers and values that were sent against this instance.",
            ),
            **common,
        )
    if status == 413:
        return PayloadTooLarge(
            _join(
                f"The request {where} was too large for DHIS2 or its proxy (HTTP 413).",
                "Send smaller batches, or raise the proxy's request size limit "
                "(nginx: client_max_body_size).",
            ),
            **common,
        )
    if status == 429:
        return RateLimited(
            _join(
                f"DHIS2 or its proxy is limiting the request rate (HTTP 429) for {where}.",
                "Wait and try again, or run fewer transfers at the same time.",
            ),
            **common,
        )
    if 400 <= status < 500:
        return BadRequest(
            _join(
                f"DHIS2 rejected the request {where} (HTTP {status} {reason}).",
                _sentence(detail),
                "Check the request parameters; this DHIS2 version may not support them.",
            ),
            **common,
        )
    if status in (502, 503, 504):
        advice = (
            "A proxy gave up waiting for DHIS2: send smaller batches or raise the proxy timeout."
            if status == 504
            else "DHIS2 is down, restarting or overloaded: try again later; if it persists, "
            "check the DHIS2 server and its reverse proxy."
        )
        common.setdefault("retryable", True)
        return ServerError(
            _join(f"DHIS2 is unavailable (HTTP {status} {reason}) for {where}.", advice),
            **common,
        )
    if status >= 500:
        return ServerError(
            _join(
                f"DHIS2 failed with HTTP {status} {reason} for {where}.",
                _sentence(detail),
                "The same request usually fails the same way; check the DHIS2 server log or ask "
                "its administrator.",
            ),
            **common,
        )
    return UnexpectedResponse(
        f"DHIS2 answered {where} with an unexpected HTTP {status} {reason}.", **common
    )


def exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception reachable through `__cause__` and `__context__`."""
    chain: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(chain) < 20:
        current = pending.pop(0)
        if any(current is seen for seen in chain):
            continue
        chain.append(current)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return chain


def _looks_like_tls(chain: list[BaseException]) -> bool:
    for item in chain:
        if isinstance(item, ssl.SSLError | ssl.CertificateError):
            return True
        text = str(item)
        if "CERTIFICATE_VERIFY_FAILED" in text or "[SSL" in text or "SSLError" in text:
            return True
    return False


# (exception class, reason) in the order they are tried: subclasses before their bases.
_TIMEOUT_REASONS: tuple[tuple[type[httpx.TransportError], str], ...] = (
    (httpx.ConnectTimeout, "connect timeout"),
    (httpx.ReadTimeout, "read timeout"),
    (httpx.WriteTimeout, "write timeout"),
    (httpx.PoolTimeout, "connection pool timeout"),
    (httpx.TimeoutException, "timeout"),
)
# Tried only after TLS and OS-level causes (DNS, refused, reset), which say more.
_OTHER_REASONS: tuple[tuple[type[httpx.TransportError], str], ...] = (
    (httpx.RemoteProtocolError, "server closed the connection without a valid answer"),
    (httpx.ReadError, "connection lost while reading the answer"),
    (httpx.WriteError, "connection lost while sending the request"),
    (httpx.ConnectError, "could not connect"),
)


def _first_reason(
    exc: httpx.TransportError, reasons: tuple[tuple[type[httpx.TransportError], str], ...]
) -> str | None:
    return next((reason for kind, reason in reasons if isinstance(exc, kind)), None)


def describe_transport_error(exc: httpx.TransportError) -> str:
    """Short human reason for a network failure ("connection refused", "read timeout")."""
    chain = exception_chain(exc)
    timeout = _first_reason(exc, _TIMEOUT_REASONS)
    if timeout is not None:
        return timeout
    if _looks_like_tls(chain):
        return "TLS/certificate error"
    text = " ".join(str(e) for e in chain).lower()
    errnos = {getattr(e, "errno", None) for e in chain}
    if "name or service not known" in text or "nodename nor servname" in text:
        return "DNS lookup failed"
    if "temporary failure in name resolution" in text or "getaddrinfo failed" in text:
        return "DNS lookup failed"
    if errno.ECONNREFUSED in errnos or "connection refused" in text:
        return "connection refused"
    if errno.ECONNRESET in errnos or "connection reset" in text:
        return "connection reset"
    return _first_reason(exc, _OTHER_REASONS) or "network error"


def error_for_transport(
    exc: httpx.TransportError, *, method: str, url: str, timeout: float | None = None
) -> Dhis2Error:
    """Map an httpx transport exception to Unreachable / TlsError / Dhis2Timeout."""
    reason = describe_transport_error(exc)
    where = f"{method} {_short(url)}"
    chain = exception_chain(exc)
    if isinstance(exc, httpx.TimeoutException):
        limit = f" within {timeout:g} s" if timeout else ""
        if isinstance(exc, httpx.ConnectTimeout):
            return Dhis2Timeout(
                _join(
                    f"Could not connect to DHIS2{limit} for {where} ({reason}).",
                    "Check that the server is running and reachable from here (address, "
                    "firewall, VPN).",
                ),
                url=url,
            )
        return Dhis2Timeout(
            _join(
                f"DHIS2 did not answer{limit} for {where} ({reason}).",
                "The server may be overloaded or the request too large: try again later, send "
                "smaller batches, or raise the timeout.",
            ),
            url=url,
        )
    if _looks_like_tls(chain):
        detail = next((str(e) for e in chain if isinstance(e, ssl.SSLError)), str(exc))
        return TlsError(
            _join(
                f"Could not open a secure (TLS) connection for {where}: {detail[:_MAX_DETAIL]}.",
                "Check the server's certificate (expired, self-signed, or issued for another host "
                "name), or turn off TLS verification for this instance if you trust the network.",
            ),
            url=url,
        )
    if reason == "DNS lookup failed":
        advice = "Check the host name in the base URL (typing error?) and this machine's DNS."
    elif reason == "connection refused":
        advice = "Check the port in the base URL and that DHIS2 (or its proxy) is running."
    else:
        advice = "Check that DHIS2 is running and reachable from here (address, firewall, VPN)."
    return Unreachable(_join(f"Could not reach DHIS2 for {where}: {reason}.", advice), url=url)
