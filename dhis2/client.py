"""Synchronous DHIS2 Web API client (httpx).

One `Client` per DHIS2 instance. It normalises the base URL, authenticates every request,
retries transient failures, maps failures to the typed errors of `dhis2.errors` and keeps
credentials out of every log line, repr, exception and retry event.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import httpx

from . import paging
from .auth import BasicAuth, TokenAuth, redact, redact_data
from .errors import (
    Dhis2Error,
    NotDhis2,
    describe_transport_error,
    error_for_status,
    error_for_transport,
    exception_chain,
)
from .filters import flt, flt_eq, flt_in, join_fields
from .retry import DEFAULT_RETRY_STATUSES, RetryEvent, RetryPolicy, parse_retry_after
from .urls import normalize_base_url, same_origin_prefix, strip_userinfo
from .version import Version

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "Client",
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


class Client:
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
            verify=verify,
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

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

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
    ) -> Response:
        """Send one request with retries; return the answer or raise a typed `Dhis2Error`.

        * `params`: a mapping (list/tuple values repeat the key: `filter=a&filter=b`) or a list of
          pairs; `None` values are dropped, booleans become `true`/`false`.
        * `ok_statuses`: non-2xx statuses returned as a `Response` instead of raised. Import
          endpoints answer 409 with a full report in 2.38+ (`ok_statuses=(409,)`).
        * `retry_on`: the HTTP statuses that are retried (default 429/502/503/504). Pass `()` to
          get a 504/502 back as an error at once, e.g. to split a chunk instead of resending it.
          Network errors and timeouts are always retried; pass `attempts=1` to disable every retry.
        * `attempts`: overrides `RetryPolicy.max_attempts` for this call.

        500/501 are never retried: a DHIS2 500 is an unhandled exception that repeats for the same
        request. Retries apply to every method because DHIS2 imports are keyed by UID and
        idempotent under CREATE_AND_UPDATE.
        """
        method = method.upper()
        url = self.api_url(path)
        query = _encode_params(params)
        if "?" in url:  # httpx 0.28 drops a URL's own query when params= is given: merge here
            url, _, inline = url.partition("?")
            query = parse_qsl(inline, keep_blank_values=True) + (query or [])
        retry_statuses = DEFAULT_RETRY_STATUSES if retry_on is None else frozenset(retry_on)
        max_attempts = attempts if attempts is not None else self.retry.max_attempts
        max_attempts = max(1, max_attempts)
        req_headers = self._headers(headers, expect_json)
        req_timeout: Any = (
            httpx.USE_CLIENT_DEFAULT
            if timeout is None
            else httpx.Timeout(timeout, connect=self.connect_timeout)
        )
        shown_url = redact(self._shown_url(url, query), self._secrets)

        for attempt in range(1, max_attempts + 1):
            started = time.monotonic()
            try:
                raw = self._http.request(
                    method,
                    url,
                    params=query,
                    json=json,
                    content=content,
                    headers=req_headers,
                    timeout=req_timeout,
                )
            except httpx.TransportError as exc:
                error = self._scrub(
                    error_for_transport(
                        exc, method=method, url=shown_url, timeout=timeout or self.timeout
                    )
                )
                if not error.retryable or attempt >= max_attempts:
                    if self._mentions_secret(exc):
                        raise error from None  # keep the secret out of logged tracebacks
                    raise error from exc
                reason = describe_transport_error(exc)
                self._before_retry(attempt, max_attempts, method, shown_url, reason, None)
                continue
            elapsed = time.monotonic() - started
            logger.debug("%s %s -> %s in %.2fs", method, shown_url, raw.status_code, elapsed)
            status = raw.status_code
            if status in retry_statuses and status not in ok_statuses and attempt < max_attempts:
                retry_after = parse_retry_after(raw.headers.get("Retry-After"))
                reason = f"HTTP {status} {raw.reason_phrase or ''}".strip()
                self._before_retry(attempt, max_attempts, method, shown_url, reason, retry_after)
                continue
            return self._finish(raw, method, shown_url, expect_json, ok_statuses, retry_statuses)
        raise AssertionError("unreachable")  # pragma: no cover

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
    def _shown_url(url: str, query: list[tuple[str, str]] | None) -> str:
        if not query:
            return url
        return str(httpx.URL(url).copy_merge_params(query))

    def _before_retry(
        self,
        attempt: int,
        max_attempts: int,
        method: str,
        url: str,
        reason: str,
        retry_after: float | None,
    ) -> None:
        wait = self.retry.wait_for(attempt, retry_after)
        event = RetryEvent(
            attempt=attempt,
            max_attempts=max_attempts,
            method=method,
            url=strip_userinfo(url),
            reason=redact(reason, self._secrets),
            wait_seconds=wait,
        )
        logger.warning("DHIS2 request retried: %s", event)
        if self.on_retry is not None:
            self.on_retry(event)
        if wait > 0:
            self._sleep(wait)

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
                body = jsonlib.loads(raw.content)
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

    def post_json(
        self,
        path: str,
        body: Any,
        *,
        params: Mapping[str, Any] | None = None,
        ok_statuses: Collection[int] = (409,),
        retry_on: Collection[int] | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
    ) -> Response:
        """POST JSON. 409 is returned, not raised: 2.38+ import endpoints report conflicts so."""
        return self._send_json("POST", path, body, params, ok_statuses, retry_on, timeout, attempts)

    def _send_json(
        self,
        method: str,
        path: str,
        body: Any,
        params: Mapping[str, Any] | None,
        ok_statuses: Collection[int],
        retry_on: Collection[int] | None,
        timeout: float | None,
        attempts: int | None,
    ) -> Response:
        return self.request(
            method,
            path,
            params=params,
            json=body,
            ok_statuses=ok_statuses,
            retry_on=retry_on,
            timeout=timeout,
            attempts=attempts,
        )

    def put_json(
        self,
        path: str,
        body: Any,
        *,
        params: Mapping[str, Any] | None = None,
        ok_statuses: Collection[int] = (409,),
        retry_on: Collection[int] | None = None,
        timeout: float | None = None,
        attempts: int | None = None,
    ) -> Response:
        """PUT JSON (same 409 handling as `post_json`)."""
        return self._send_json("PUT", path, body, params, ok_statuses, retry_on, timeout, attempts)

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
        self,
        resource: str,
        *,
        fields: str | Sequence[str] = "id,name",
        filters: Sequence[str] = (),
        page_size: int = 1000,
        params: Mapping[str, Any] | None = None,
        items_key: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of `/api/<resource>` across pages (see `dhis2.paging`)."""
        return paging.iter_pages(
            self,
            resource,
            fields=fields,
            filters=filters,
            page_size=page_size,
            params=params,
            items_key=items_key,
        )

    def list_all(
        self,
        resource: str,
        *,
        fields: str | Sequence[str] = "id,name",
        filters: Sequence[str] = (),
        params: Mapping[str, Any] | None = None,
        items_key: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of `/api/<resource>` in one `paging=false` request."""
        return paging.list_all(
            self, resource, fields=fields, filters=filters, params=params, items_key=items_key
        )


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
        return jsonlib.loads(raw.content)
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
