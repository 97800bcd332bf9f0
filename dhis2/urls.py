"""Base-URL normalisation and credential-free URLs.

People paste DHIS2 addresses in many shapes (`https://host/dhis/`, `https://host/api`,
`https://host/dhis/api/40/`). The client stores one canonical form: scheme and host, the servlet
context path if any, no trailing slash and no `/api` suffix.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit, urlunsplit

__all__ = ["normalize_base_url", "same_origin_prefix", "strip_userinfo"]

_VALID_EXAMPLE = "https://dhis2.example.org or https://example.org/dhis"
# A pasted API root, optionally with an explicit API version (`/api/40`).
_API_SUFFIX_RE = re.compile(r"/api(?:/\d+)?$")


def strip_userinfo(url: str) -> str:
    """Return `url` without any `user:password@` part, so it can be logged or shown."""
    if not url or "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    if "@" not in parts.netloc:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def normalize_base_url(url: str) -> str:
    """Canonical DHIS2 base URL: `scheme://host[:port][/context]`, no trailing slash.

    Tolerates a trailing slash and a pasted `/api` or `/api/<version>` suffix. Rejects anything that
    is not an absolute http(s) URL with a host, and URLs carrying credentials (they would end up in
    logs; credentials belong in the connection's auth fields).
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError(
            f"The DHIS2 address is empty. A valid address looks like {_VALID_EXAMPLE}."
        )
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        raise ValueError(
            f"The DHIS2 address is not a valid URL. A valid address looks like {_VALID_EXAMPLE}."
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        hint = ""
        if "://" not in raw:
            hint = f" Did you mean https://{raw.rstrip('/')} ?"
        raise ValueError(
            "The DHIS2 address must start with http:// or https:// and name a host."
            f"{hint} A valid address looks like {_VALID_EXAMPLE}."
        )
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "The DHIS2 address contains a user name or password. Remove them from the address and "
            "enter them as the connection's credentials instead."
        )
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path.rstrip("/")
    path = _API_SUFFIX_RE.sub("", path).rstrip("/")
    return urlunsplit((scheme, netloc, path, "", ""))


def same_origin_prefix(url: str, base_url: str) -> bool:
    """True when `url` lives under `base_url` (same scheme, host, port and context path).

    Used before sending credentials to an absolute URL that came from a server answer.
    """
    try:
        target = urlsplit(url)
        base = urlsplit(base_url)
    except ValueError:
        return False
    if (target.scheme.lower(), target.netloc.lower()) != (base.scheme.lower(), base.netloc.lower()):
        return False
    base_path = base.path.rstrip("/")
    return target.path == base_path or target.path.startswith(base_path + "/")
