"""Relaying DHIS2 retry events to the observer on the run's own thread.

The clients report retries through their `on_retry` hook, from whatever thread made the request
(fetch threads included). The task layer's observer typically writes to the database, which
must happen on the thread that runs the transfer, so events from other threads are queued and
delivered by `drain()`, which the engine calls between steps.

A retry on the owning thread (an import, an async job poll, a completeness request) can wait
for a while; `heartbeat`, when set, is called after it is reported, so the run's heartbeat
(`observer.progress`) keeps beating through a series of retries. What it raises propagates
out of the client's request, stopping the run.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from dhis2.retry import RetryEvent

if TYPE_CHECKING:
    from dhis2.client import Client

__all__ = ["RetryRelay"]


class _RetryObserver(Protocol):
    def retry(self, event: RetryEvent) -> None: ...


class RetryRelay:
    """Counts retry events and forwards them to `observer.retry` on the owning thread."""

    def __init__(self, observer: _RetryObserver) -> None:
        self.observer = observer
        self.count = 0
        self._owner = threading.get_ident()
        self._lock = threading.Lock()
        self._pending: deque[RetryEvent] = deque()
        self.heartbeat: Callable[[RetryEvent], None] | None = None

    def __call__(self, event: RetryEvent) -> None:
        with self._lock:
            self.count += 1
        if threading.get_ident() == self._owner:
            self.drain()
            self.observer.retry(event)
            if self.heartbeat is not None:
                self.heartbeat(event)
        else:
            self._pending.append(event)

    def drain(self) -> None:
        """Deliver queued events (owner thread only)."""
        if threading.get_ident() != self._owner:
            return
        while self._pending:
            self.observer.retry(self._pending.popleft())

    @contextmanager
    def attached(self, *clients: Client) -> Iterator[RetryRelay]:
        """Chain this relay into each client's `on_retry` and restore the previous hooks
        afterwards. A hook already set keeps being called, unless it is the observer's own
        `retry` (which the relay already calls: the event would be reported twice)."""
        saved: list[tuple[Client, Callable[[RetryEvent], None] | None]] = []
        for client in {id(c): c for c in clients}.values():
            previous = client.on_retry
            saved.append((client, previous))
            client.on_retry = self._chain(previous)
        try:
            yield self
        finally:
            for client, previous in saved:
                client.on_retry = previous

    def _chain(self, previous: Callable[[RetryEvent], None] | None) -> Callable[[RetryEvent], None]:
        if previous is not None and previous == getattr(self.observer, "retry", None):
            previous = None

        def hook(event: RetryEvent) -> None:
            self(event)
            if previous is not None:
                previous(event)

        return hook
