"""Synchronous DHIS2 Web API client (httpx).

One `Client` per DHIS2 instance. It normalises the base URL, authenticates every request,
retries transient failures, maps failures to the typed errors of `dhis2.errors` and keeps
credentials out of every log line, repr, exception and retry event.
"""

from __future__ import annotations

import contextlib
import functools
import json as jsonlib
import logging
import ssl
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypedDict, Unpack
from urllib.parse import parse_qsl

import httpx
import orjson
import tenacity

from . import paging
from .auth import BasicAuth, TokenAuth, redact, redact_data
from .closing import ClosesOnExit
from .errors import (
    Dhis2Error,
    NotDhis2,
    describe_transport_error,
    error_for_status,
    error_for_transport,
    exception_chain,
)
from .filters import flt, flt_eq, flt_in, join_fields
from .retry import (
    DEFAULT_RETRY_STATUSES,
    Decision,
    Failure,
    FailureHook,
    RetryEvent,
    RetryPolicy,
    parse_retry_after,
)
from .urls import normalize_base_url, same_origin_prefix, strip_userinfo
from .version import Version

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "Client",
    "Decision",
    "Failure",
    "FailureHook",
    "JsonSendOptions",
    "Response",
    "RetryEvent",
    "RetryPolicy",
    "flt",
    "flt_eq",
    "flt_in",
]

logger = logging.getLogger("dhis2.client")


def _package_version() -> str:
    try:
        return metadata.version("dhis2sync")
    except metadata.PackageNotFoundError:
        return "dev"


DEFAULT_USER_AGENT = f"dhis2sync/{_package_version()} (+httpx)"


@dataclass
class Response:
    """A DHIS2 answer: parsed JSON body (None when empty), or text when `expect_json=False`."""

    status_code: int
    body: Any
    headers: httpx.Headers
    url: str = ""


class JsonSendOptions(TypedDict, total=False):
    """What `post_json` and `put_json` pass on to `Client.request`; `ok_statuses` defaults to
    (409,) there, the rest to `request`'s defaults."""

    params: Mapping[str, Any] | None
    ok_statuses: Collection[int]
    retry_on: Collection[int] | None
    timeout: float | None
    attempts: int | None


@functools.cache
def _tls_context(verify: bool) -> ssl.SSLContext:
    """One TLS context per process for each `verify` choice, built as httpx builds it (the
    certifi bundle, or `SSL_CERT_FILE`/`SSL_CERT_DIR`). httpx would build a new one for every
    client, reading the whole certificate bundle each time (about 0.1 s of CPU), and a run
    makes several clients. A context is safe to share between clients and threads."""
    return httpx.create_ssl_context(verify=verify)


class Client(ClosesOnExit):
    """DHIS2 Web API client for one instance.

    Sends `Accept: application/json` and `X-Requested-With: XMLHttpRequest`: without the latter
    DHIS2 (`FormLoginBasicAuthenticationEntryPoint`) redirects unauthenticated token requests to
    its HTML login page instead of answering 401. Redirects are never followed; one to the login
    page is reported as `AuthenticationFailed`.
    """

    def __init__(
        self,
        base_url: str,
        auth: BasicAuth | TokenAuth | None,
        *,
        timeout: float = 60.0,
        connect_timeout: float = 10.0,
        verify: bool = True,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self._auth = auth
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.verify = verify
        self._sleep = sleep
        self._secrets: tuple[str, ...] = auth.secrets() if auth is not None else ()
        self._version: Version | None = None
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            verify=_tls_context(verify),
            transport=transport,
            follow_redirects=False,
            headers={
                "Accept": "application/json",
                "X-Requested-With": "XMLHttpRequest",
                "User-Agent": user_agent or DEFAULT_USER_AGENT,
            },
        )

    # ---- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self._http.close()

    def __repr__(self) -> str:
        return f"Client(base_url={self.base_url!r}, auth={self._auth!r})"

    @property
    def auth(self) -> BasicAuth | TokenAuth | None:
        return self._auth

    # ---- URLs ---------------------------------------------------------------------------------

    def api_url(self, path: str) -> str:
        """`/api/...` URL for `path` (with or without leading `/` or `api/`).

        An absolute URL is accepted only when it lies under the base URL (e.g. a tracker job
        `location`), so credentials are never sent to a host named by a server answer.
        """
        text = path.strip()
        if text.startswith(("http://", "https://")):
            if not same_origin_prefix(text, self.base_url):
                raise ValueError(
                    f"Refusing to send credentials to {strip_userinfo(text)!r}: it is not under "
                    f"the connection's base URL {self.base_url!r}."
                )
            return text
        text = text.lstrip("/")
        if text == "api":
            text = ""
        elif text.startswith("api/"):
            text = text[4:]
        return f"{self.base_url}/api/{text}" if text else f"{self.base_url}/api"

    # ---- core request -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        expect_json: bool = True,
        ok_statuses: Collection[int] = (),
        timeout: float | None = None,
        retry_on: Collection[int] | None = None,
        attempts: int | None = None,
        on_failure: FailureHook | None = None,
    ) -> Response:
        """Send one request with retries; return the answer or raise a typed `Dhis2Error`.

        * `params`: a mapping (list/tuple values repeat the key: `filter=a&filter=b`) or a list of
          pairs; `None` values are dropped, booleans become `true`/`false`.
        * `ok_statuses`: non-2xx statuses returned as a `Response` instead of raised. Import
          endpoints answer 409 with a full report in 2.38+ (`ok_statuses=(409,)`).
        * `retry_on`: the HTTP statuses that are retried (default 429/502/503/504). Pass `()` to
          get a 504/502 back as an error at once.
          Network errors and timeouts are always retried; pass `attempts=1` to disable every retry.
        * `attempts`: overrides `RetryPolicy.max_attempts` for this call.
        * `on_failure`: a per-call `FailureHook` asked about every failed attempt (also the last)
          that decides retry or fail instead of the defaults above, e.g. to split a chunk on a
          504 instead of resending it. The waits, `RetryEvent`s and the attempt limit stay the
          client's. What the hook raises propagates.

        The raised error's `attempts` says how many times the request was sent. 500/501 are not
        retried by default: a DHIS2 500 is an unhandled exception that usually repeats for the
        same request. Retries apply to every method because DHIS2 imports are keyed by UID and
        idempotent under CREATE_AND_UPDATE.
        """
        method = method.upper()
        url = self.api_url(path)
        pairs = _encode_params(params)
        if "?" in url:  # httpx 0.28 drops a URL's own query when params= is given: merge here
            url, _, inline = url.partition("?")
            pairs = parse_qsl(inline, keep_blank_values=True) + (pairs or [])
        query = tuple(pairs) if pairs is not None else None
        retry_statuses = DEFAULT_RETRY_STATUSES if retry_on is None else frozenset(retry_on)
        max_attempts = attempts if attempts is not None else self.retry.max_attempts
        call = _Call(
            client=self,
            method=method,
            url=url,
            query=query,
            shown_url=redact(self._shown_url(url, query), self._secrets),
            json=json,
            content=content,
            headers=self._headers(headers, expect_json),
            timeout=timeout,
            expect_json=expect_json,
            ok_statuses=ok_statuses,
            retry_statuses=retry_statuses,
            max_attempts=max(1, max_attempts),
            on_failure=on_failure,
        )
        retrying = tenacity.Retrying(
            retry=call.should_retry,
            wait=call.planned_wait,
            before_sleep=call.announce,
            sleep=call.sleep,
            stop=tenacity.stop_after_attempt(call.max_attempts),
            reraise=True,
        )
        return retrying(call.attempt)

    def _headers(self, extra: Mapping[str, str] | None, expect_json: bool) -> dict[str, str]:
        headers: dict[str, str] = {}
        if not expect_json:
            headers["Accept"] = "*/*"
        if extra:
            headers.update(extra)
        if self._auth is not None:
            self._auth.apply(headers)
        return headers

    @staticmethod
    def _shown_url(url: str, query: tuple[tuple[str, str], ...] | None) -> str:
        if not query:
            return url
        return str(httpx.URL(url).copy_merge_params(query))

    def _finish(
        self,
        raw: httpx.Response,
        method: str,
        url: str,
        expect_json: bool,
        ok_statuses: Collection[int],
        retry_statuses: Collection[int],
    ) -> Response:
        status = raw.status_code
        if 200 <= status < 300 or status in ok_statuses:
            if not expect_json:
                return Response(status, raw.text, raw.headers, url)
            if not raw.content.strip():
                return Response(status, None, raw.headers, url)
            try:
                body = loads(raw.content)
            except ValueError:
                if 200 <= status < 300:
                    raise self._scrub(_not_json(raw, method, url)) from None
                raise self._scrub(
                    error_for_status(status, method=method, url=url, text=raw.text)
                ) from None
            return Response(status, body, raw.headers, url)
        error = error_for_status(
            status,
            method=method,
            url=url,
            body=_try_json(raw),
            text=raw.text[:20_000] if raw.content else "",
            location=raw.headers.get("Location"),
            retryable=True if status in retry_statuses else None,
        )
        raise self._scrub(error)

    def _mentions_secret(self, exc: BaseException) -> bool:
        return any(redact(str(e), self._secrets) != str(e) for e in exception_chain(exc))

    def _scrub(self, error: Dhis2Error) -> Dhis2Error:
        """Remove any credential from the message (defence in depth: bodies and OS errors)."""
        if self._secrets:
            error.message = redact(error.message, self._secrets)
            error.args = (error.message,)
            if error.web_message is not None:
                error.web_message = redact_data(error.web_message, self._secrets)
        return error

    # ---- JSON helpers -------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and return the parsed JSON body (None for an empty body)."""
        return self.request("GET", path, params=params).body

    def post_json(self, path: str, body: Any, **options: Unpack[JsonSendOptions]) -> Response:
        """POST JSON. 409 is returned, not raised: 2.38+ import endpoints report conflicts so."""
        return self._send_json("POST", path, body, options)

    def put_json(self, path: str, body: Any, **options: Unpack[JsonSendOptions]) -> Response:
        """PUT JSON (same 409 handling as `post_json`)."""
        return self._send_json("PUT", path, body, options)

    def _send_json(self, method: str, path: str, body: Any, options: JsonSendOptions) -> Response:
        options.setdefault("ok_statuses", (409,))
        return self.request(method, path, json=body, **options)

    def delete(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        ok_statuses: Collection[int] = (),
    ) -> Response:
        """DELETE (e.g. un-completing a data set answers 204 with an empty body)."""
        return self.request("DELETE", path, params=params, ok_statuses=ok_statuses)

    # ---- system -------------------------------------------------------------------------------

    def system_info(self) -> dict[str, Any]:
        """`GET /api/system/info`. Fields vary by version and user; rely on `version`,
        `revision`, `buildTime`, `serverDate`, `contextPath`, `calendar`."""
        body = self.get_json("system/info")
        if not isinstance(body, dict):
            raise self._scrub(
                NotDhis2(
                    "The answer to /api/system/info is not a DHIS2 system info object: the URL "
                    "does not point at a DHIS2 Web API; check the base URL (include the context "
                    "path like /dhis).",
                    url=self.api_url("system/info"),
                    status_code=200,
                )
            )
        if self._version is None and isinstance(body.get("version"), str):
            with contextlib.suppress(ValueError):  # one call serves system_info() and version
                self._version = Version.parse(body["version"])
        return body

    @property
    def version(self) -> Version:
        """Server version, fetched once from `/api/system/info` and cached."""
        if self._version is None:
            info = self.system_info()
            raw = info.get("version")
            try:
                self._version = Version.parse(raw) if isinstance(raw, str) else None
            except ValueError:
                self._version = None
            if self._version is None:
                raise NotDhis2(
                    f"/api/system/info did not give a DHIS2 version (got {str(raw)[:40]!r}): the "
                    "URL does not point at a DHIS2 Web API; check the base URL (include the "
                    "context path like /dhis).",
                    url=self.api_url("system/info"),
                    status_code=200,
                )
        return self._version

    def me(self, fields: str | Sequence[str] | None = None) -> dict[str, Any]:
        """`GET /api/me` (the authenticated user). Without `fields`, DHIS2's default set."""
        params = {"fields": join_fields(fields)} if fields else None
        body = self.get_json("me", params=params)
        if not isinstance(body, dict):
            raise NotDhis2(
                "The answer to /api/me is not a DHIS2 user object; check the base URL (include "
                "the context path like /dhis).",
                url=self.api_url("me"),
                status_code=200,
            )
        return body

    def ping(self) -> bool:
        """True when `/api/system/ping` answers `pong`. Never raises for server or network
        problems (one attempt, no retries); use `system_info()`/`me()` to get the reason."""
        try:
            response = self.request("GET", "system/ping", expect_json=False, attempts=1)
        except Dhis2Error as exc:
            logger.info("DHIS2 ping failed: %s", exc)
            return False
        return str(response.body).strip().strip('"') == "pong"

    # ---- lists --------------------------------------------------------------------------------

    def iter_pages(
        self, resource: str, **options: Unpack[paging.PageOptions]
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of `/api/<resource>` across pages (see `dhis2.paging.iter_pages`)."""
        return paging.iter_pages(self, resource, **options)

    def list_all(
        self, resource: str, **options: Unpack[paging.ListOptions]
    ) -> list[dict[str, Any]]:
        """Every item of `/api/<resource>` in one `paging=false` request (`paging.list_all`)."""
        return paging.list_all(self, resource, **options)


@dataclass
class _Call:
    """One `Client.request`: sends attempts and answers tenacity's questions about them.

    Tenacity runs the loop (`Retrying`): `attempt` sends once and raises the typed error of a
    failure; `should_retry` decides (the per-call hook, else the defaults) and draws the wait
    once, so a hook sees the wait it will get; `announce` reports the `RetryEvent` before the
    wait; `sleep` waits with the client's (injectable) sleep.
    """

    client: Client
    method: str
    url: str
    query: tuple[tuple[str, str], ...] | None
    """Ordered pairs (a tuple: httpx accepts it where its invariant list type would not)."""
    shown_url: str
    json: Any
    content: bytes | str | None
    headers: dict[str, str]
    timeout: float | None
    expect_json: bool
    ok_statuses: Collection[int]
    retry_statuses: Collection[int]
    max_attempts: int
    on_failure: FailureHook | None
    _reason: str = ""
    _retry_after: float | None = None
    _wait: float = 0.0

    def attempt(self) -> Response:
        client = self.client
        req_timeout: Any = (
            httpx.USE_CLIENT_DEFAULT
            if self.timeout is None
            else httpx.Timeout(self.timeout, connect=client.connect_timeout)
        )
        self._retry_after = None
        started = time.monotonic()
        content, headers = self.content, self.headers
        if self.json is not None and content is None:
            # Encoded here, not by httpx (stdlib json): orjson is several times faster on the
            # 10,000-value import bodies, and the bytes are the same JSON.
            content = dumps(self.json)
            headers = {"Content-Type": "application/json", **headers}
        try:
            raw = client._http.request(
                self.method,
                self.url,
                params=self.query,
                content=content,
                headers=headers,
                timeout=req_timeout,
            )
        except httpx.TransportError as exc:
            error = client._scrub(
                error_for_transport(
                    exc,
                    method=self.method,
                    url=self.shown_url,
                    timeout=self.timeout or client.timeout,
                )
            )
            self._reason = describe_transport_error(exc)
            if client._mentions_secret(exc):
                raise error from None  # keep the secret out of logged tracebacks
            raise error from exc
        elapsed = time.monotonic() - started
        logger.debug("%s %s -> %s in %.2fs", self.method, self.shown_url, raw.status_code, elapsed)
        self._reason = f"HTTP {raw.status_code} {raw.reason_phrase or ''}".strip()
        # 429 and 503 may say when to come back (RFC 9110 §10.2.3); honoured when retried.
        self._retry_after = parse_retry_after(raw.headers.get("Retry-After"))
        return client._finish(
            raw,
            self.method,
            self.shown_url,
            self.expect_json,
            self.ok_statuses,
            self.retry_statuses,
        )

    def _default(self, error: Dhis2Error) -> Decision:
        if error.status_code is None:  # network error or timeout
            return Decision.RETRY if error.retryable else Decision.FAIL
        retried = error.status_code in self.retry_statuses
        return Decision.RETRY if retried else Decision.FAIL

    def should_retry(self, state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        if not isinstance(error, Dhis2Error):
            return False  # a bug or an interrupt, never retried
        error.attempts = state.attempt_number
        self._wait = self.client.retry.wait_for(state.attempt_number, self._retry_after)
        default = self._default(error)
        decision: Decision | None = default
        if self.on_failure is not None:
            failure = Failure(
                attempt=state.attempt_number,
                max_attempts=self.max_attempts,
                error=error,
                reason=redact(self._reason, self.client._secrets),
                retry_after=self._retry_after,
                wait_seconds=self._wait,
                default=default,
            )
            decision = self.on_failure(failure) or default
        return decision is Decision.RETRY and state.attempt_number < self.max_attempts

    def planned_wait(self, state: tenacity.RetryCallState) -> float:
        return self._wait

    def announce(self, state: tenacity.RetryCallState) -> None:
        client = self.client
        event = RetryEvent(
            attempt=state.attempt_number,
            max_attempts=self.max_attempts,
            method=self.method,
            url=strip_userinfo(self.shown_url),
            reason=redact(self._reason, client._secrets),
            wait_seconds=self._wait,
        )
        logger.warning("DHIS2 request retried: %s", event)
        if client.on_retry is not None:
            client.on_retry(event)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.client._sleep(seconds)


def dumps(value: Any) -> bytes:
    """JSON bytes of `value` (UTF-8, compact) with orjson; what orjson refuses (integers beyond
    64 bits, non-string keys, subclasses it does not know) goes through the stdlib instead."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def loads(content: bytes | str) -> Any:
    """Parse a JSON body with orjson (several times faster than the stdlib on data value
    sets); what orjson refuses but the stdlib reads (`NaN`, integers beyond 64 bits) falls back.
    Raises `ValueError` for text that is not JSON."""
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return jsonlib.loads(content)


def _encode_params(
    params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
) -> list[tuple[str, str]] | None:
    """Flatten params to ordered pairs: lists repeat the key, None is dropped, bools lowercase."""
    if params is None:
        return None
    pairs = params.items() if isinstance(params, Mapping) else params
    out: list[tuple[str, str]] = []
    for key, value in pairs:
        values = value if isinstance(value, list | tuple | set | frozenset) else [value]
        for item in values:
            if item is None:
                continue
            if isinstance(item, bool):
                out.append((key, "true" if item else "false"))
            else:
                out.append((key, str(item)))
    return out


def _try_json(raw: httpx.Response) -> Any:
    if not raw.content.strip():
        return None
    try:
        return loads(raw.content)
    except ValueError:
        return None


def _not_json(raw: httpx.Response, method: str, url: str) -> NotDhis2:
    content_type = raw.headers.get("Content-Type", "no content type").split(";")[0].strip()
    looks_html = "html" in content_type or raw.text.lstrip()[:15].lower().startswith(
        ("<!doctype", "<html")
    )
    got = "an HTML page" if looks_html else f"something that is not JSON ({content_type})"
    return NotDhis2(
        f"The server answered {method} {url} with {got}: the URL does not point at a DHIS2 Web "
        "API; check the base URL (include the context path like /dhis).",
        url=url,
        status_code=raw.status_code,
    )
