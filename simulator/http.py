"""Framework-free request/response objects and DHIS2 WebMessage helpers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus, urlsplit

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class SimRequest:
    """One HTTP request as the simulator sees it.

    ``query`` is a multi-dict (every value is a list, in arrival order); ``headers`` keys are
    case-insensitive (normalised to lower case on construction).
    """

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    query_order: list[tuple[str, str]] = field(default_factory=list)
    base_url: str = "http://localhost:8080"

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {k.lower(): v for k, v in self.headers.items()}
        if not self.query_order:
            self.query_order = [(k, v) for k, vs in self.query.items() for v in vs]

    @classmethod
    def from_url(
        cls,
        method: str,
        url: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> SimRequest:
        """Build a request from a (possibly absolute) URL with its query string."""
        parts = urlsplit(url)
        pairs = parse_qs_ordered(parts.query)
        query: dict[str, list[str]] = {}
        for key, value in pairs:
            query.setdefault(key, []).append(value)
        hdrs = dict(headers or {})
        host = next((v for k, v in hdrs.items() if k.lower() == "host"), None)
        scheme = parts.scheme or "http"
        base = f"{scheme}://{host or parts.netloc or 'localhost:8080'}"
        return cls(
            method=method,
            path=parts.path or "/",
            query=query,
            headers=hdrs,
            body=body,
            query_order=pairs,
            base_url=base,
        )

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def params(self, name: str) -> list[str]:
        """All values of a repeatable parameter; comma lists are not split here."""
        return list(self.query.get(name, []))

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.param(name)
        if value is None:
            return default
        return value.strip().lower() in ("true", "1", "yes", "")

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8") or "null")


def parse_qs_ordered(qs: str) -> list[tuple[str, str]]:
    """Parse a query string keeping the order of appearance and blank values."""
    pairs: list[tuple[str, str]] = []
    for chunk in qs.split("&"):
        if not chunk:
            continue
        key, _, value = chunk.partition("=")
        pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


@dataclass
class SimResponse:
    """One HTTP response: status, headers and raw body bytes."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(
    obj: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> SimResponse:
    hdrs = {"Content-Type": JSON_TYPE}
    if headers:
        hdrs.update(headers)
    return SimResponse(status=status, headers=hdrs, body=dumps(obj))


def text_response(
    text: str, status: int = 200, content_type: str = "text/plain;charset=UTF-8"
) -> SimResponse:
    return SimResponse(status=status, headers={"Content-Type": content_type}, body=text.encode())


HTTP_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    415: "Unsupported Media Type",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


NGINX_TITLES = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def web_message(
    status_code: int,
    status: str,
    message: str | None = None,
    *,
    error_code: str | None = None,
    response: Any = None,
    dev_message: str | None = None,
) -> dict[str, Any]:
    """A WebMessage in DHIS2's property order (``WebMessage.java``: httpStatus, httpStatusCode,
    status, code, message, devMessage, response; ``errorCode`` when known)."""
    body: dict[str, Any] = {
        "httpStatus": HTTP_STATUS_TEXT.get(status_code, str(status_code)),
        "httpStatusCode": status_code,
        "status": status,
    }
    if message is not None:
        body["message"] = message
    if dev_message is not None:
        body["devMessage"] = dev_message
    if response is not None:
        body["response"] = response
    if error_code is not None:
        body["errorCode"] = error_code
    return body


def error_response(
    status_code: int, message: str, *, error_code: str | None = None, status: str = "ERROR"
) -> SimResponse:
    return json_response(
        web_message(status_code, status, message, error_code=error_code), status=status_code
    )


def html_error_page(status: int) -> SimResponse:
    """The HTML body an nginx reverse proxy answers with on 502/503/504."""
    text = NGINX_TITLES.get(status) or HTTP_STATUS_TEXT.get(status, "Error")
    body = (
        f"<html>\r\n<head><title>{status} {text}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {text}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return SimResponse(status=status, headers={"Content-Type": "text/html"}, body=body.encode())


def split_csv(values: Iterable[str]) -> list[str]:
    """Flatten repeatable parameters that may also be comma lists (``orgUnit=a,b``)."""
    out: list[str] = []
    for value in values:
        out.extend(v for v in value.split(",") if v)
    return out
