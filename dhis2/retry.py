"""Retry policy of the DHIS2 client: what is retried, how long to wait, what is reported.

Retried by default: network errors and timeouts, 502/503/504 (reverse proxy or DHIS2
restarting) and 429. Not retried: other 4xx (the request is wrong and stays wrong) and 500/501.
In DHIS2 a 500 comes from an unhandled exception in a controller
(`CrudControllerAdvice.defaultExceptionHandler`) and usually repeats identically for the same
request; resending only multiplies load on a struggling server.

A caller that knows more about its request (a chunked import that would rather split a payload
on 504 than resend it, or an idempotent import worth resending after a 500) passes a per-call
`FailureHook` to `Client.request`: the client asks it about every failed attempt and the hook
answers `Decision.RETRY` or `Decision.FAIL` (or None: the default above). The client keeps the
one retry loop, its waits and its `RetryEvent`s either way.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .errors import Dhis2Error

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "Decision",
    "Failure",
    "FailureHook",
    "RetryEvent",
    "RetryPolicy",
    "parse_retry_after",
]

DEFAULT_RETRY_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter.

    The wait before retry `n` (1-based) is uniform in
    `[0, min(backoff_max, backoff_base * 2**(n-1))]` (exactly that bound with `jitter=False`).
    `backoff_base=0` disables sleeping altogether (tests). A 429 `Retry-After` is honoured up to
    `max(retry_after_max, backoff_max)` seconds: the server knows best, but a proxy asking for an
    hour should not freeze a transfer.
    """

    max_attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    jitter: bool = True
    retry_after_max: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1 (1 = no retries).")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("RetryPolicy backoff values cannot be negative.")

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if self.backoff_base <= 0:
            return 0.0
        bound = min(self.backoff_max, self.backoff_base * 2.0 ** max(attempt - 1, 0))
        return bound * rand() if self.jitter else bound

    def wait_for(
        self,
        attempt: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Wait before the next attempt, preferring a server-sent Retry-After."""
        if self.backoff_base <= 0:
            return 0.0
        if retry_after is not None:
            return max(0.0, min(retry_after, max(self.retry_after_max, self.backoff_max)))
        return self.backoff(attempt, rand)


class Decision(enum.Enum):
    """What a `FailureHook` wants done with a failed attempt."""

    RETRY = "retry"
    """Send the request again after the policy's wait (if attempts are left; else raise)."""
    FAIL = "fail"
    """Raise the typed error now, e.g. so the caller can split the payload."""


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as shown to a `FailureHook` before the client acts on it.

    `wait_seconds` is the wait the client will use if the answer is `RETRY` (already drawn,
    jitter and a server's `Retry-After` included), so a hook can report it in advance.
    `default` is what the client does without a hook. `last` is True when no attempt is left:
    a `RETRY` then raises `error` (its `attempts` says how many were made).
    """

    attempt: int
    max_attempts: int
    error: Dhis2Error
    reason: str
    """Short cause as in `RetryEvent.reason` (`HTTP 503 Service Unavailable`, `connection
    reset`)."""
    retry_after: float | None
    wait_seconds: float
    default: Decision

    @property
    def last(self) -> bool:
        return self.attempt >= self.max_attempts


FailureHook = Callable[[Failure], Decision | None]
"""Per-call retry hook of `Client.request`; None means "do the default"."""


@dataclass
class RetryEvent:
    """What the client reports before each retry (to `on_retry` and the log). No secrets."""

    attempt: int
    max_attempts: int
    method: str
    url: str
    reason: str
    wait_seconds: float

    def __str__(self) -> str:
        return (
            f"{self.method} {self.url} failed ({self.reason}); attempt {self.attempt} of "
            f"{self.max_attempts}, retrying in {self.wait_seconds:.1f} s"
        )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds: either delta-seconds or an HTTP date. None when absent/invalid."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())
